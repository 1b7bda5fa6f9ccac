//! Read planning: coalesce a device's registers into as few requests as the profile allows.
//! Pure; plans are computed once per profile and poll kind, not per poll.

use crate::config::profile::{Function, RegisterSpec};

/// One Modbus read request and the registers it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadBlock {
    pub function: Function,
    pub address: u16,
    pub count: u16,
    /// Indices into the profile's `registers`.
    pub registers: Vec<usize>,
}

impl ReadBlock {
    /// Whether the block spans registers that no spec maps (a meter may refuse such a read).
    pub fn has_gaps(&self, specs: &[RegisterSpec]) -> bool {
        let mapped: u32 = self.registers.iter().map(|&i| specs[i].words as u32).sum();
        mapped < self.count as u32
    }
}

/// Plans reads for the registers `wanted` selects. Registers of one function code join a block
/// while the gap before them is at most `max_fill` and the block stays within `max_block`.
pub fn plan_reads(
    specs: &[RegisterSpec],
    wanted: impl Fn(&RegisterSpec) -> bool,
    max_block: u16,
    max_fill: u16,
) -> Vec<ReadBlock> {
    let mut order: Vec<usize> = (0..specs.len()).filter(|&i| wanted(&specs[i])).collect();
    order.sort_by_key(|&i| (specs[i].function, specs[i].address));
    let mut blocks: Vec<ReadBlock> = Vec::new();
    for i in order {
        let r = &specs[i];
        if let Some(b) = blocks.last_mut() {
            let end = b.address as u32 + b.count as u32;
            let new_end = end.max(r.end());
            if b.function == r.function
                && r.address as u32 <= end + max_fill as u32
                && new_end - b.address as u32 <= max_block as u32
            {
                b.count = (new_end - b.address as u32) as u16;
                b.registers.push(i);
                continue;
            }
        }
        blocks.push(ReadBlock {
            function: r.function,
            address: r.address,
            count: r.words,
            registers: vec![i],
        });
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::profile::{ByteOrder, ValueType};
    use crate::quantity::Quantity;

    fn reg(q: &str, function: Function, address: u16, words: u16) -> RegisterSpec {
        RegisterSpec {
            quantity: Quantity::named(q),
            function,
            address,
            value_type: if words == 1 {
                ValueType::U16
            } else {
                ValueType::F32
            },
            words,
            byte_order: ByteOrder::ABCD,
            scale: 1.0,
            offset: 0.0,
            unit_factor: 1.0,
            divisor: None,
            rollover: None,
            max_is_unavailable: false,
        }
    }

    #[test]
    fn contiguous_registers_make_one_read() {
        let specs = vec![
            reg("voltage_l2_v", Function::Input, 2, 2),
            reg("voltage_l1_v", Function::Input, 0, 2),
            reg("voltage_l3_v", Function::Input, 4, 2),
        ];
        let plan = plan_reads(&specs, |_| true, 125, 0);
        assert_eq!(
            plan,
            vec![ReadBlock {
                function: Function::Input,
                address: 0,
                count: 6,
                registers: vec![1, 0, 2]
            }]
        );
        assert!(!plan[0].has_gaps(&specs));
    }

    #[test]
    fn gaps_respect_max_fill_block_length_and_function_codes() {
        let specs = vec![
            reg("voltage_l1_v", Function::Input, 0, 2),
            reg("power_kw", Function::Input, 12, 2),
            reg("frequency_hz", Function::Input, 70, 2),
            reg("energy_import_kwh", Function::Holding, 0, 2),
        ];
        let plan = plan_reads(&specs, |_| true, 125, 10);
        assert_eq!(plan.len(), 3);
        assert_eq!(
            (plan[0].function, plan[0].registers.clone()),
            (Function::Holding, vec![3])
        );
        assert_eq!((plan[1].address, plan[1].count), (0, 14));
        assert!(plan[1].has_gaps(&specs));
        assert_eq!((plan[2].address, plan[2].count), (70, 2));
        // A short max_block splits what max_fill would join.
        let plan = plan_reads(&specs, |s| s.function == Function::Input, 8, 10);
        assert_eq!(
            plan.iter().map(|b| b.address).collect::<Vec<_>>(),
            vec![0, 12, 70]
        );
        // Only what is wanted is read.
        let plan = plan_reads(&specs, |s| s.quantity.is_cumulative(), 125, 10);
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].registers, vec![3]);
    }
}
