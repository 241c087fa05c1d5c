"""Thin napari adapters (reader, writer, widget, sample data); no format knowledge here."""
