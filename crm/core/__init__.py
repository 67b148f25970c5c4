"""Infrastructure shared by every feature; never imports a feature package."""
