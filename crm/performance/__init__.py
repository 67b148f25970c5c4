"""Officer performance and needs analytics: managers compare their officers and read the year's needs."""
