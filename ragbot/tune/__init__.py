"""The tuning layer: evaluation, calibration, plots, data preparation and LoRA fine-tuning."""
