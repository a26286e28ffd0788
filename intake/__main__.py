from intake.cli import entry

entry()
