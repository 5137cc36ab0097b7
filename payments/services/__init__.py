"""Write side of the payments app: intent submission, batch assembly, settlement."""
