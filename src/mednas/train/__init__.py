"""Training: losses, augmentation, schedules, checkpoints, BN recalibration and the loop."""
