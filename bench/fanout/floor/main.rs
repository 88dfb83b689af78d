//! The kernel's floor for fan-out on this machine: one thread writes a 150-byte frame to each
//! of 1,000 loopback TCP connections (what a server does for one message to 1,000 WebSocket
//! subscribers), with nothing else running and no reader waiting. Prints the cost per write.
//! std only: `rustc -O main.rs`.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

fn main() {
    let n = 1000;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for _ in 0..n {
        readers.push(TcpStream::connect(addr).unwrap());
        let (w, _) = listener.accept().unwrap();
        w.set_nodelay(true).unwrap();
        writers.push(w);
    }
    let frame = [b'x'; 150];
    let mut buf = [0u8; 4096];
    let mut per_write = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        for w in writers.iter_mut() {
            w.write_all(&frame).unwrap();
        }
        per_write.push(t.elapsed() / n);
        for r in readers.iter_mut() {
            let _ = r.read(&mut buf).unwrap();
        }
    }
    per_write.sort();
    let median: Duration = per_write[per_write.len() / 2];
    println!(
        "RESULT mode=floor subs={n} write_us={:.2} fanout_ms={:.2}",
        median.as_secs_f64() * 1e6,
        median.as_secs_f64() * 1e3 * n as f64
    );
}
