// A WASI task using its scratch directory the way programs do, through Rust's std::fs
// (wasi-libc underneath): compiled for wasm32-wasip1 by tests/wasm_scratch.rs.
use std::{
	fs,
	io::{Read, Seek, SeekFrom, Write},
};

fn main() {
	fs::create_dir("/scratch/dir").unwrap();
	fs::write("/scratch/dir/b.txt", b"bee").unwrap();
	fs::write("/scratch/z.txt", b"last").unwrap();
	let mut f = fs::File::create("/scratch/a.txt").unwrap();
	f.write_all(b"hello scratch\n").unwrap();
	f.seek(SeekFrom::Start(6)).unwrap();
	f.write_all(b"SCRATCH").unwrap();
	drop(f);
	let mut s = String::new();
	fs::File::open("/scratch/a.txt").unwrap().read_to_string(&mut s).unwrap();
	print!("{s}");
	// Not sorted here: the order must already be the same everywhere.
	let names: Vec<String> = fs::read_dir("/scratch")
		.unwrap()
		.map(|e| e.unwrap().file_name().into_string().unwrap())
		.collect();
	println!("{names:?}");
	let m = fs::metadata("/scratch/a.txt").unwrap();
	println!("{} {:?} {}", m.len(), m.modified().unwrap(), m.is_file());
	fs::rename("/scratch/dir/b.txt", "/scratch/c.txt").unwrap();
	fs::remove_dir("/scratch/dir").unwrap();
	println!("{:?}", fs::read_to_string("/scratch/c.txt").unwrap());
	println!("{:?}", fs::read("/etc/passwd").map_err(|e| e.kind()));
	// ENOTCAPABLE (76): the path leaves the directory it was given.
	println!("{:?}", fs::read("/scratch/../etc/passwd").map_err(|e| e.raw_os_error()));
	println!("{:?}", fs::remove_dir("/scratch/nope").map_err(|e| e.kind()));
	let chunk = vec![7u8; 1 << 20];
	let mut big = fs::File::create("/scratch/big").unwrap();
	let mut written = 0;
	loop {
		match big.write(&chunk) {
			Ok(n) => written += n,
			Err(e) => {
				println!("full after {written} bytes: {:?}", e.kind());
				break;
			},
		}
	}
}
