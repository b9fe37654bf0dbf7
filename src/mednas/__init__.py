"""mednas: resource-aware evolutionary NAS for medical image segmentation."""

__version__ = "0.1.0"
