"""Planning: mapping search, deployment planner, Pareto fronts."""
