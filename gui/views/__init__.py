"""The window's pages and panes, each a face over :class:`~phonovault.gui.context.AppContext`."""
