"""The TV: what the box shows on its own screen.

One display owner, the `cage` kiosk compositor (Wayland); the player's two decks and the
idle surface are its clients. The deck that plays the music video shows it; during a
crossfade the incoming deck's picture is mapped on top of the outgoing one, so there is no
black frame. Every surface draws the same overlay (now playing, coming up, the QR code to
the patron page, messages) with mpv's own OSD (`osd-overlay`, ASS), so nothing else needs
a GPU or a browser. Without a compositor (no screen) the box plays sound only.
"""
