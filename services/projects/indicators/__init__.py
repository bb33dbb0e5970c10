"""The shared indicators (collective impact): the catalogue everyone measures with (`service`), the targets a
project sets on it and the consistency rules its values obey (`targets`, also used by reports), and the
aggregates of accepted values and targets by indicator × QPV × priority × year (`impact`)."""
