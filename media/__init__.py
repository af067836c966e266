"""Image processing for uploaded photos. Imports only `domain`: no I/O but the bytes it is given."""
