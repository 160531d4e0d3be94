"""The Google adapter: every byte that goes to Google (or the emulator) goes through here."""
