"""Load script (`make soak`): not collected by pytest (no test_*.py files)."""
