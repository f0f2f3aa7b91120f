//! Resource amounts as fixed-point numbers (Ray's granularity of 1/10000) and resource sets.
//!
//! Fixed point keeps repeated acquire/release exact: `0.1` taken ten times and returned ten
//! times gives back exactly what there was, which floats do not.

use std::fmt;

use smallvec::SmallVec;

use crate::error::CoreError;

/// Units per whole resource.
pub const UNITS_PER_RESOURCE: i64 = 10_000;

pub const CPU: &str = "CPU";
pub const GPU: &str = "GPU";
pub const MEMORY: &str = "memory";

/// An amount of a resource in units of 1/10000. Signed: a worker that unblocks takes its
/// CPUs back even when that briefly over-subscribes the node.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(i64);

impl Quantity {
    pub const ZERO: Self = Self(0);
    pub const ONE: Self = Self(UNITS_PER_RESOURCE);

    pub const fn from_units(units: i64) -> Self {
        Self(units)
    }

    pub fn from_f64(value: f64) -> Result<Self, CoreError> {
        if !value.is_finite() || value < 0.0 {
            return Err(CoreError::BadQuantity(value.to_string()));
        }
        Ok(Self((value * UNITS_PER_RESOURCE as f64).round() as i64))
    }

    pub fn whole(count: u32) -> Self {
        Self(i64::from(count) * UNITS_PER_RESOURCE)
    }

    pub const fn units(self) -> i64 {
        self.0
    }

    pub fn to_f64(self) -> f64 {
        self.0 as f64 / UNITS_PER_RESOURCE as f64
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Whole resources, when the amount is a whole number.
    pub fn as_whole(self) -> Option<u32> {
        (self.0 % UNITS_PER_RESOURCE == 0).then_some((self.0 / UNITS_PER_RESOURCE) as u32)
    }
}

impl std::ops::Add for Quantity {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        Self(self.0 + rhs.0)
    }
}

impl std::ops::Sub for Quantity {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        Self(self.0 - rhs.0)
    }
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_f64())
    }
}

/// A set of named amounts, sorted by name, without zero entries.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ResourceSet {
    entries: SmallVec<[(Box<str>, Quantity); 2]>,
}

impl ResourceSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn from_pairs<N: Into<Box<str>>>(pairs: impl IntoIterator<Item = (N, Quantity)>) -> Self {
        let mut set = Self::new();
        for (name, amount) in pairs {
            set.add(&name.into(), amount);
        }
        set
    }

    pub fn get(&self, name: &str) -> Quantity {
        match self.position(name) {
            Ok(i) => self.entries[i].1,
            Err(_) => Quantity::ZERO,
        }
    }

    pub fn set(&mut self, name: &str, amount: Quantity) {
        match self.position(name) {
            Ok(i) if amount.is_zero() => {
                self.entries.remove(i);
            }
            Ok(i) => self.entries[i].1 = amount,
            Err(_) if amount.is_zero() => {}
            Err(i) => self.entries.insert(i, (name.into(), amount)),
        }
    }

    pub fn add(&mut self, name: &str, amount: Quantity) {
        self.set(name, self.get(name) + amount);
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, Quantity)> {
        self.entries.iter().map(|(name, amount)| (&**name, *amount))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether every amount in `request` is available here.
    pub fn contains(&self, request: &ResourceSet) -> bool {
        request
            .iter()
            .all(|(name, amount)| self.get(name) >= amount)
    }

    pub fn subtract(&mut self, other: &ResourceSet) {
        for (name, amount) in other.iter() {
            self.set(name, self.get(name) - amount);
        }
    }

    pub fn add_all(&mut self, other: &ResourceSet) {
        for (name, amount) in other.iter() {
            self.add(name, amount);
        }
    }

    /// Names in `request` this set does not have at all, or has too little of in total.
    pub fn shortfall(&self, request: &ResourceSet) -> Vec<String> {
        request
            .iter()
            .filter(|(name, amount)| self.get(name) < *amount)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|(entry, _)| (**entry).cmp(name))
    }
}

impl fmt::Debug for ResourceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The node's GPUs as instances, so each task learns which device ids it holds.
/// A request below one GPU shares one device; a request of n >= 1 takes n whole devices.
#[derive(Clone, Debug, Default)]
pub struct GpuSlots {
    free: Vec<Quantity>,
}

/// Devices handed to one task: (device index, amount held on it).
pub type GpuGrant = SmallVec<[(u32, Quantity); 1]>;

impl GpuSlots {
    pub fn new(count: u32) -> Self {
        Self {
            free: vec![Quantity::ONE; count as usize],
        }
    }

    /// Takes `amount` of GPU, or returns None (and takes nothing) if it does not fit.
    pub fn allocate(&mut self, amount: Quantity) -> Option<GpuGrant> {
        if amount.is_zero() {
            return Some(GpuGrant::new());
        }
        if amount < Quantity::ONE {
            let slot = self.free.iter().position(|free| *free >= amount)?;
            self.free[slot] = self.free[slot] - amount;
            return Some(smallvec::smallvec![(slot as u32, amount)]);
        }
        let whole = amount.as_whole()? as usize;
        let slots: GpuGrant = self
            .free
            .iter()
            .enumerate()
            .filter(|(_, free)| **free == Quantity::ONE)
            .take(whole)
            .map(|(slot, _)| (slot as u32, Quantity::ONE))
            .collect();
        if slots.len() < whole {
            return None;
        }
        for (slot, _) in &slots {
            self.free[*slot as usize] = Quantity::ZERO;
        }
        Some(slots)
    }

    pub fn can_allocate(&self, amount: Quantity) -> bool {
        self.clone().allocate(amount).is_some()
    }

    pub fn release(&mut self, grant: &GpuGrant) {
        for (slot, amount) in grant {
            let free = &mut self.free[*slot as usize];
            *free = *free + *amount;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(value: f64) -> Quantity {
        Quantity::from_f64(value).unwrap()
    }

    #[test]
    fn fractions_add_up_exactly() {
        let mut avail = ResourceSet::from_pairs([(CPU, q(1.0))]);
        let request = ResourceSet::from_pairs([(CPU, q(0.1))]);
        for _ in 0..10 {
            assert!(avail.contains(&request));
            avail.subtract(&request);
        }
        assert!(!avail.contains(&request));
        for _ in 0..10 {
            avail.add_all(&request);
        }
        assert_eq!(avail.get(CPU), Quantity::ONE);
    }

    #[test]
    fn zero_entries_are_dropped_and_names_sorted() {
        let set = ResourceSet::from_pairs([("b", q(1.0)), ("a", q(0.0)), ("c", q(2.0))]);
        let names: Vec<_> = set.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(names, ["b", "c"]);
    }

    #[test]
    fn negative_and_nan_quantities_are_rejected() {
        assert!(Quantity::from_f64(-1.0).is_err());
        assert!(Quantity::from_f64(f64::NAN).is_err());
    }

    #[test]
    fn shortfall_names_missing_resources() {
        let node = ResourceSet::from_pairs([(CPU, q(2.0))]);
        let request = ResourceSet::from_pairs([(CPU, q(3.0)), ("custom", q(1.0))]);
        assert_eq!(node.shortfall(&request), ["CPU", "custom"]);
    }

    #[test]
    fn fractional_gpus_share_a_device_and_whole_ones_take_devices() {
        let mut gpus = GpuSlots::new(2);
        let half_a = gpus.allocate(q(0.5)).unwrap();
        let half_b = gpus.allocate(q(0.5)).unwrap();
        assert_eq!(half_a[0].0, 0);
        assert_eq!(half_b[0].0, 0);
        let whole = gpus.allocate(q(1.0)).unwrap();
        assert_eq!(whole[0].0, 1);
        assert!(gpus.allocate(q(0.5)).is_none());
        gpus.release(&half_a);
        assert!(
            gpus.allocate(q(1.0)).is_none(),
            "device 0 is still half used"
        );
        gpus.release(&half_b);
        assert_eq!(gpus.allocate(q(1.0)).unwrap()[0].0, 0);
    }

    #[test]
    fn a_request_for_two_gpus_needs_two_free_devices() {
        let mut gpus = GpuSlots::new(2);
        let _quarter = gpus.allocate(q(0.25)).unwrap();
        assert!(!gpus.can_allocate(q(2.0)));
        assert!(gpus.can_allocate(q(1.0)));
    }
}
