"""`python -m yolo_compose` runs the CLI."""

from yolo_compose.cli import main

if __name__ == "__main__":
    main()
