//! Command-line flags of the examples: `--name value` or `--name=value`,
//! each flag once; an unknown flag or a bad value ends the program with a
//! message naming it.

// Each includer uses its share of the module.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;

/// The parsed flags.
#[derive(Debug)]
pub struct Args {
    program: &'static str,
    pairs: Vec<(String, String)>,
}

impl Args {
    /// Parses this process's arguments; `known` are the flag names (without
    /// `--`) the program takes, `usage` what it prints for `--help`.
    pub fn parse(program: &'static str, known: &[&str], usage: &str) -> Args {
        Self::from_iter(program, known, usage, std::env::args().skip(1))
    }

    /// Parses `args` (for tests and the bench).
    pub fn from_iter(
        program: &'static str,
        known: &[&str],
        usage: &str,
        args: impl IntoIterator<Item = String>,
    ) -> Args {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            if arg == "--help" || arg == "-h" {
                println!("{usage}");
                std::process::exit(0);
            }
            let Some(flag) = arg.strip_prefix("--") else { fail(program, &format!("unexpected argument {arg:?}")) };
            let (name, value) = match flag.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => {
                    let v = it.next().unwrap_or_else(|| fail(program, &format!("--{flag} needs a value")));
                    (flag.to_string(), v)
                }
            };
            if !known.contains(&name.as_str()) {
                fail(program, &format!("unknown flag --{name} (try --help)"));
            }
            if pairs.iter().any(|(n, _)| *n == name) {
                fail(program, &format!("--{name} given twice"));
            }
            pairs.push((name, value));
        }
        Args { program, pairs }
    }

    /// The raw value of `--name`, if given.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// `--name` parsed, or `default`.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> T
    where
        T::Err: std::fmt::Display,
    {
        match self.raw(name) {
            None => default,
            Some(v) => v.parse().unwrap_or_else(|e| fail(self.program, &format!("--{name} {v:?}: {e}"))),
        }
    }

    /// `--name` parsed, if given.
    pub fn opt<T: FromStr>(&self, name: &str) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        self.raw(name).map(|v| v.parse().unwrap_or_else(|e| fail(self.program, &format!("--{name} {v:?}: {e}"))))
    }

    /// A duration in seconds (`--name 2.5`), or `default`.
    pub fn secs(&self, name: &str, default: f64) -> std::time::Duration {
        let s: f64 = self.get(name, default);
        if !(s.is_finite() && s >= 0.0) {
            fail(self.program, &format!("--{name}: a number of seconds, not {s}"));
        }
        std::time::Duration::from_secs_f64(s)
    }

    /// `--addr 127.0.0.1:P`, or `--port P` on 127.0.0.1, or port
    /// `default_port` there (0: any free port).
    pub fn addr(&self, default_port: u16) -> SocketAddr {
        match (self.raw("addr"), self.opt::<u16>("port")) {
            (Some(_), Some(_)) => fail(self.program, "give --addr or --port, not both"),
            (Some(a), None) => a.parse().unwrap_or_else(|e| fail(self.program, &format!("--addr {a:?}: {e}"))),
            (None, p) => SocketAddr::from((Ipv4Addr::LOCALHOST, p.unwrap_or(default_port))),
        }
    }

    /// `--threads N` (at least 1), or 1.
    pub fn threads(&self) -> usize {
        let n: usize = self.get("threads", 1);
        if n == 0 {
            fail(self.program, "--threads must be at least 1");
        }
        n
    }
}

fn fail(program: &str, msg: &str) -> ! {
    eprintln!("{program}: {msg}");
    std::process::exit(2)
}
