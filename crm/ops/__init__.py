"""Operations: backups and restores of the database (`flask backup`, `flask restore`)."""
