"""The policy: the slow loop that tends the quoter's parameters within the operator's bounds."""

from policy.bounds import MANAGED, bounded_move
from policy.params import FieldBounds, PolicyParams

__all__ = ["MANAGED", "FieldBounds", "PolicyParams", "bounded_move"]
