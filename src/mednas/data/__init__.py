"""Data sets: generation (phantom), loading (ACDC, nnU-Net raw), splitting, preprocessing."""
