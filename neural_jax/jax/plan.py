"""The layer plan the Flax rules use; it lives in :mod:`neural_jax.ir.plan` (backend-neutral)."""

from neural_jax.ir.plan import (
    BackendError,
    Dyn,
    LayerPlan,
    NetworkPlan,
    constant_plan,
    error,
    module_name,
    plan_network,
)

__all__ = ["BackendError", "Dyn", "LayerPlan", "NetworkPlan", "constant_plan", "error",
           "module_name", "plan_network"]
