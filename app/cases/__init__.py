"""Work orders (工单): the standard fields every channel shares, and the case page."""
