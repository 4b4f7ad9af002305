"""What Baton learns from decisions: lessons, reasons and earned autonomy."""
