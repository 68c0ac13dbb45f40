"""`yolo-compose sweep`: every placement of a module, built, measured and (optionally) trained."""
