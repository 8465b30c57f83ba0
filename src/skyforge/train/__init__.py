"""megatron-core model, training loop, schedules, checkpoints, SFT and DPO."""
