-- Hostile: ends the process while the script loads.
os.exit(0)
