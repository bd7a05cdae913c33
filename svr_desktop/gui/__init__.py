"""The desktop application (PySide6 + pyvistaqt): a front on the core.

Nothing here computes geometry or runs the network itself: widgets collect
parameters, hand core generators to :mod:`.worker` threads, and show what
comes back.  Only the GUI thread builds Qt and VTK objects.
"""
