"""A dock's contents in a vertical scroll area, so every control is reachable on a laptop screen.

napari docks a widget's ``.native``, so the scroll area has to live inside it: the dock then asks
for little height and never makes the window taller than the screen, however many TVIPS docks
are open (magicgui's ``scrollable=True`` does not help, napari docks the unscrolled widget).
"""

from __future__ import annotations

from magicgui.widgets import Container
from qtpy.QtCore import QSize, Qt
from qtpy.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget

__all__ = ["DOCK_WIDTH", "Scroll", "scroll_contents"]

#: Width a dock asks for (pixels): enough for the controls, leaving the canvas most of a
#: 1280-pixel-wide window.
DOCK_WIDTH = 350


class Scroll(QScrollArea):
    """A vertical scroll area that asks for a narrow dock (its content wraps to fit)."""

    def __init__(self, content: QWidget) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(content)

    def sizeHint(self) -> QSize:
        """Narrow (but wide enough for the content), as tall as the content."""
        inner = self.widget()
        need = inner.minimumSizeHint().width() if inner is not None else 0
        need += self.verticalScrollBar().sizeHint().width() + 4
        return QSize(max(DOCK_WIDTH, need), super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        """The content's minimum width; any height (the content scrolls)."""
        return QSize(self.sizeHint().width(), 60)


def scroll_contents(container: Container) -> Scroll:
    """Move everything now in ``container``'s layout into a :class:`Scroll` inside it.

    Call it at the end of the container's construction: widgets appended later would land
    outside the scroll area.
    """
    layout = container.native.layout()
    body = QWidget()
    body_layout = QVBoxLayout(body)
    body_layout.setContentsMargins(layout.contentsMargins())
    body_layout.setSpacing(layout.spacing())
    while layout.count():
        item = layout.takeAt(0)
        if item.widget() is not None:
            body_layout.addWidget(item.widget())
        else:
            body_layout.addItem(item)
    body_layout.addStretch(1)
    scroll = Scroll(body)
    layout.addWidget(scroll)
    layout.setContentsMargins(0, 0, 0, 0)
    return scroll
