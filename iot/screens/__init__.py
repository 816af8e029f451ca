"""The device screens: `/iot/devices` (the list) and `/iot/devices/{id}` (one device, its
chart, its commands and the forms that request them). See docs/screens.md."""
