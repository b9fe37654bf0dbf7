"""Evaluation metrics: segmentation (Dice, HD95) and classification (ACC, AUC)."""
