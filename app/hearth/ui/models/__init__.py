"""The Models page (On this computer, Discover, Downloads) and the first-run wizard, with the widgets they share."""
