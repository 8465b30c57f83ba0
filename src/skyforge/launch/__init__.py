"""Parallelism planner and job dispatch (submitit, local or SLURM)."""
