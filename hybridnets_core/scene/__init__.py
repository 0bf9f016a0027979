"""The scene on the ground: camera models, ground projection, objects, lanes and tracking."""
