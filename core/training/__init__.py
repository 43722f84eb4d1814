"""Training: step time, time-to-train, cost, energy and MFU for pre-training and fine-tuning."""
