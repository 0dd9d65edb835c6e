//! The process's own figures, read from `/proc/self` at each scrape, under the names every
//! Prometheus client library uses (`process_resident_memory_bytes`, `process_cpu_seconds_total`,
//! `process_open_fds`, `process_max_fds`, `process_start_time_seconds`). Where `/proc` cannot be
//! read (not Linux), a figure is left out rather than made up.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// What `/proc/self/stat` says that is exported.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stat {
    /// User plus system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    pub virtual_bytes: u64,
    pub resident_pages: u64,
    /// When the process started, in clock ticks after boot.
    pub start_ticks: u64,
}

/// Reads the fields of a `/proc/<pid>/stat` line. The command name (field 2) is in parentheses
/// and may hold spaces and parentheses itself, so the fields are counted after its last `)`.
pub fn parse_stat(line: &str) -> Option<Stat> {
    let after = &line[line.rfind(')')? + 1..];
    // Fields from 3 (state) on; field k is at index k - 3.
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |k: usize| fields.get(k - 3)?.parse::<u64>().ok();
    Some(Stat {
        cpu_ticks: field(14)?.checked_add(field(15)?)?,
        start_ticks: field(22)?,
        virtual_bytes: field(23)?,
        resident_pages: field(24)?,
    })
}

/// The soft limit of open files from `/proc/<pid>/limits`.
pub fn parse_max_fds(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The boot time (`btime`, seconds since the epoch) from `/proc/stat`.
pub fn parse_boot_time(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

/// `AT_PAGESZ` and `AT_CLKTCK` from the auxiliary vector the kernel handed the process
/// (`/proc/self/auxv`: pairs of native-endian words), read without `unsafe`.
pub fn parse_auxv(auxv: &[u8]) -> (Option<u64>, Option<u64>) {
    const AT_PAGESZ: u64 = 6;
    const AT_CLKTCK: u64 = 17;
    let word = std::mem::size_of::<usize>();
    let read = |b: &[u8]| -> u64 {
        let mut w = [0u8; 8];
        if cfg!(target_endian = "little") {
            w[..b.len()].copy_from_slice(b);
            u64::from_le_bytes(w)
        } else {
            w[8 - b.len()..].copy_from_slice(b);
            u64::from_be_bytes(w)
        }
    };
    let (mut page, mut ticks) = (None, None);
    for pair in auxv.chunks_exact(2 * word) {
        let (key, value) = (read(&pair[..word]), read(&pair[word..]));
        match key {
            0 => break,
            AT_PAGESZ if value > 0 => page = Some(value),
            AT_CLKTCK if value > 0 => ticks = Some(value),
            _ => {}
        }
    }
    (page, ticks)
}

/// The collector registered with the exporter.
#[derive(Debug)]
pub struct ProcessCollector {
    ticks_per_second: Option<u64>,
    page_bytes: Option<u64>,
    /// Seconds since the epoch; read once (it does not change).
    start_time: Option<f64>,
}

impl Default for ProcessCollector {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcessCollector {
    pub fn new() -> Self {
        let (page_bytes, ticks_per_second) = std::fs::read("/proc/self/auxv")
            .map(|a| parse_auxv(&a))
            .unwrap_or((None, None));
        let start_time = (|| {
            let stat = parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
            let boot = parse_boot_time(&std::fs::read_to_string("/proc/stat").ok()?)?;
            Some(boot as f64 + stat.start_ticks as f64 / ticks_per_second? as f64)
        })();
        Self {
            ticks_per_second,
            page_bytes,
            start_time,
        }
    }
}

fn open_fds() -> Option<u64> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count() as u64)
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: f64,
) -> Result<(), std::fmt::Error> {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stat = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| parse_stat(&s));
        if let Some(stat) = stat {
            if let Some(tps) = self.ticks_per_second {
                let cpu = ConstCounter::new(stat.cpu_ticks as f64 / tps as f64);
                cpu.encode(encoder.encode_descriptor(
                    "process_cpu_seconds",
                    "User and system CPU time spent",
                    None,
                    cpu.metric_type(),
                )?)?;
            }
            if let Some(page) = self.page_bytes {
                gauge(
                    &mut encoder,
                    "process_resident_memory_bytes",
                    "Resident memory size",
                    (stat.resident_pages * page) as f64,
                )?;
            }
            gauge(
                &mut encoder,
                "process_virtual_memory_bytes",
                "Virtual memory size",
                stat.virtual_bytes as f64,
            )?;
        }
        if let Some(n) = open_fds() {
            // The directory listing holds one descriptor of its own while it is read.
            gauge(
                &mut encoder,
                "process_open_fds",
                "Open file descriptors",
                n.saturating_sub(1) as f64,
            )?;
        }
        if let Some(max) = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|l| parse_max_fds(&l))
        {
            gauge(
                &mut encoder,
                "process_max_fds",
                "The most file descriptors the process may open",
                max as f64,
            )?;
        }
        if let Some(start) = self.start_time {
            gauge(
                &mut encoder,
                "process_start_time_seconds",
                "When the process started, in seconds since the Unix epoch",
                start,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_is_read_past_a_command_name_with_spaces_and_parentheses() {
        // Fields 14/15 utime/stime = 120/30, 22 starttime = 5000, 23 vsize, 24 rss.
        let line = "4242 (trade mon) (x)) S 1 4242 4242 0 -1 4194560 500 0 0 0 120 30 0 0 20 0 \
                    9 0 5000 123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0";
        let stat = parse_stat(line).unwrap();
        assert_eq!(
            stat,
            Stat {
                cpu_ticks: 150,
                start_ticks: 5000,
                virtual_bytes: 123_456_789,
                resident_pages: 2048
            }
        );
    }

    #[test]
    fn garbage_stat_lines_give_nothing() {
        assert_eq!(parse_stat(""), None);
        assert_eq!(parse_stat("no parentheses 1 2 3"), None);
        assert_eq!(parse_stat("1 (x) S 1 2"), None);
        assert_eq!(
            parse_stat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 zz 30 0 0 20 0 9 0 5000 1 2"),
            None
        );
    }

    #[test]
    fn limits_and_boot_time() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max open files            1024                 1048576              files     \n";
        assert_eq!(parse_max_fds(limits), Some(1024));
        assert_eq!(
            parse_max_fds("Max open files unlimited unlimited files"),
            None
        );
        assert_eq!(
            parse_boot_time("cpu 1 2 3\nbtime 1765000000\n"),
            Some(1_765_000_000)
        );
        assert_eq!(parse_boot_time("cpu 1 2 3\n"), None);
    }

    #[test]
    fn the_auxiliary_vector_gives_the_page_size_and_clock_ticks() {
        let word = std::mem::size_of::<usize>();
        let mut auxv = Vec::new();
        for (k, v) in [(3u64, 99u64), (6, 4096), (17, 100), (0, 0), (6, 1)] {
            auxv.extend_from_slice(&(k as usize).to_ne_bytes()[..word]);
            auxv.extend_from_slice(&(v as usize).to_ne_bytes()[..word]);
        }
        assert_eq!(parse_auxv(&auxv), (Some(4096), Some(100)));
        assert_eq!(parse_auxv(b"garbage"), (None, None));
        let (page, ticks) = parse_auxv(&std::fs::read("/proc/self/auxv").unwrap());
        assert!(page.unwrap() >= 4096 && ticks.unwrap() >= 100);
    }

    #[test]
    fn this_process_is_read() {
        let stat = parse_stat(&std::fs::read_to_string("/proc/self/stat").unwrap()).unwrap();
        assert!(stat.resident_pages > 0);
        let c = ProcessCollector::new();
        let start = c.start_time.unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        // Started within the last day, and not in the future (btime is whole seconds).
        assert!(
            start <= now + 1.0 && start > now - 86_400.0,
            "{start} vs {now}"
        );
        assert!(open_fds().unwrap() >= 3);
    }
}
