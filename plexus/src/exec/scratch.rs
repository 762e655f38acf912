//! A Wasm task's scratch directory: an in-memory tree preopened as `/scratch` (fd 3), bounded
//! in bytes and entries, gone when the task ends.
//!
//! Replicas must write identical bytes, so nothing here depends on the machine: every
//! timestamp is the sandbox clock's fixed epoch, inode numbers count up from 1 in the order
//! entries are made, directories list in byte order of their names, and there are no links,
//! owners or permissions. Paths cannot leave the tree: absolute paths and `..` above the
//! preopened directory are refused (`ENOTCAPABLE`), as WASI's capability model wants.

use std::collections::BTreeMap;

/// The preopened directory's descriptor and the name tasks see.
pub(super) const PREOPEN_FD: u32 = 3;
pub(super) const PREOPEN_NAME: &str = "/scratch";
/// Every timestamp, ns (the sandbox clock's epoch).
pub(super) const EPOCH_NS: u64 = 1_700_000_000_000_000_000;
/// Most files and directories, the root included.
const MAX_NODES: usize = 4096;
/// What an entry costs besides its bytes, so that empty files cannot be free.
const NODE_COST: u64 = 128;
/// Most descriptors open at once.
const MAX_FDS: usize = 1024;
/// Most entries ever made: removed ones keep their number (for deterministic numbering),
/// so a make-and-remove loop must end too.
const MAX_MADE: usize = 65_536;

pub(super) mod errno {
	pub const BADF: i32 = 8;
	pub const EXIST: i32 = 20;
	pub const INVAL: i32 = 28;
	pub const ISDIR: i32 = 31;
	pub const MFILE: i32 = 33;
	pub const NAMETOOLONG: i32 = 37;
	pub const NOENT: i32 = 44;
	pub const NOSPC: i32 = 51;
	pub const NOTDIR: i32 = 54;
	pub const NOTEMPTY: i32 = 55;
	pub const NOTCAPABLE: i32 = 76;
}
use errno::*;

/// `oflags` of `path_open`.
pub(super) const O_CREAT: u16 = 1;
pub(super) const O_DIRECTORY: u16 = 2;
pub(super) const O_EXCL: u16 = 4;
pub(super) const O_TRUNC: u16 = 8;
/// `fdflags`: append.
pub(super) const FD_APPEND: u16 = 1;
/// WASI file types.
const DIRECTORY: u8 = 3;
const REGULAR_FILE: u8 = 4;

enum Node {
	File(Vec<u8>),
	Dir {
		entries: BTreeMap<Vec<u8>, usize>,
		parent: usize,
	},
	/// Unlinked and closed: its number is not reused, so numbering stays deterministic.
	Gone,
}

struct Open {
	node: usize,
	pos: u64,
	append: bool,
}

pub(super) struct Scratch {
	nodes: Vec<Node>,
	live: usize,
	fds: BTreeMap<u32, Open>,
	used: u64,
	cap: u64,
}

type R<T> = Result<T, i32>;

impl Scratch {
	/// An empty scratch directory of at most `cap` bytes.
	pub fn new(cap: u64) -> Self {
		Self {
			nodes: vec![Node::Dir { entries: BTreeMap::new(), parent: 0 }],
			live: 1,
			fds: BTreeMap::new(),
			used: NODE_COST,
			cap,
		}
	}

	/// The directory `fd` names (the preopen, or an opened directory).
	fn dir_of(&self, fd: u32) -> R<usize> {
		let node = if fd == PREOPEN_FD { 0 } else { self.fds.get(&fd).ok_or(BADF)?.node };
		match self.nodes[node] {
			Node::Dir { .. } => Ok(node),
			_ => Err(NOTDIR),
		}
	}

	/// Walks `path` from the directory `fd` to the parent of its last component and that
	/// component's name (`None` for the directory itself: "", ".", "a/..").
	fn walk(&self, fd: u32, path: &[u8]) -> R<(usize, Option<Vec<u8>>)> {
		if path.first() == Some(&b'/') {
			return Err(NOTCAPABLE);
		}
		if path.len() > 4096 {
			return Err(NAMETOOLONG);
		}
		let mut dir = self.dir_of(fd)?;
		let parts: Vec<&[u8]> =
			path.split(|b| *b == b'/').filter(|p| !p.is_empty() && *p != b".").collect();
		let mut last = None;
		for (i, part) in parts.iter().enumerate() {
			if *part == b".." {
				match self.nodes[dir] {
					Node::Dir { parent, .. } if dir != 0 => dir = parent,
					_ => return Err(NOTCAPABLE),
				}
				continue;
			}
			if part.len() > 255 {
				return Err(NAMETOOLONG);
			}
			if i + 1 == parts.len() {
				last = Some(part.to_vec());
			} else {
				let Node::Dir { entries, .. } = &self.nodes[dir] else { return Err(NOTDIR) };
				dir = *entries.get(*part).ok_or(NOENT)?;
				if !matches!(self.nodes[dir], Node::Dir { .. }) {
					return Err(NOTDIR);
				}
			}
		}
		Ok((dir, last))
	}

	/// The node `path` names from `fd`.
	fn lookup(&self, fd: u32, path: &[u8]) -> R<usize> {
		match self.walk(fd, path)? {
			(dir, None) => Ok(dir),
			(dir, Some(name)) => match &self.nodes[dir] {
				Node::Dir { entries, .. } => entries.get(&name).copied().ok_or(NOENT),
				_ => Err(NOTDIR),
			},
		}
	}

	fn entries_mut(&mut self, dir: usize) -> &mut BTreeMap<Vec<u8>, usize> {
		match &mut self.nodes[dir] {
			Node::Dir { entries, .. } => entries,
			_ => unreachable!("walk returns directories"),
		}
	}

	/// The most one write can add: no single write is larger than the whole directory.
	pub fn capacity(&self) -> usize {
		self.cap as usize
	}

	fn make(&mut self, node: Node) -> R<usize> {
		if self.live >= MAX_NODES
			|| self.nodes.len() >= MAX_MADE
			|| self.used + NODE_COST > self.cap
		{
			return Err(NOSPC);
		}
		self.used += NODE_COST;
		self.live += 1;
		self.nodes.push(node);
		Ok(self.nodes.len() - 1)
	}

	fn add_fd(&mut self, open: Open) -> R<u32> {
		if self.fds.len() >= MAX_FDS {
			return Err(MFILE);
		}
		let fd = (PREOPEN_FD + 1..).find(|fd| !self.fds.contains_key(fd)).expect("fds are bounded");
		self.fds.insert(fd, open);
		Ok(fd)
	}

	/// `path_open`.
	pub fn open(&mut self, dirfd: u32, path: &[u8], oflags: u16, fdflags: u16) -> R<u32> {
		let (dir, name) = self.walk(dirfd, path)?;
		let existing = match &name {
			None => Some(dir),
			Some(n) => match &self.nodes[dir] {
				Node::Dir { entries, .. } => entries.get(n).copied(),
				_ => return Err(NOTDIR),
			},
		};
		let node = match existing {
			Some(_) if oflags & O_CREAT != 0 && oflags & O_EXCL != 0 => return Err(EXIST),
			Some(node) => node,
			None if oflags & O_CREAT != 0 => {
				let node = self.make(Node::File(Vec::new()))?;
				let name = name.expect("a missing entry has a name");
				self.entries_mut(dir).insert(name, node);
				node
			},
			None => return Err(NOENT),
		};
		match &mut self.nodes[node] {
			Node::Dir { .. } if oflags & O_TRUNC != 0 => return Err(ISDIR),
			Node::File(_) if oflags & O_DIRECTORY != 0 => return Err(NOTDIR),
			Node::File(data) if oflags & O_TRUNC != 0 => {
				self.used -= data.len() as u64;
				// Given back, not kept: `used` counts bytes the host holds.
				*data = Vec::new();
			},
			_ => {},
		}
		self.add_fd(Open { node, pos: 0, append: fdflags & FD_APPEND != 0 })
	}

	pub fn close(&mut self, fd: u32) -> R<()> {
		let open = self.fds.remove(&fd).ok_or(BADF)?;
		self.collect(open.node);
		Ok(())
	}

	/// Frees a file nobody can reach any more: unlinked, and no descriptor left.
	fn collect(&mut self, node: usize) {
		let linked = self.nodes.iter().any(|n| match n {
			Node::Dir { entries, .. } => entries.values().any(|v| *v == node),
			_ => false,
		});
		if node != 0 && !linked && !self.fds.values().any(|o| o.node == node) {
			if let Node::File(data) = &self.nodes[node] {
				self.used -= data.len() as u64 + NODE_COST;
				self.live -= 1;
				self.nodes[node] = Node::Gone;
			}
		}
	}

	fn file(&mut self, fd: u32) -> R<(&mut Open, &mut Vec<u8>)> {
		let open = self.fds.get_mut(&fd).ok_or(BADF)?;
		match &mut self.nodes[open.node] {
			Node::File(data) => Ok((open, data)),
			_ => Err(ISDIR),
		}
	}

	/// Reads up to `max` bytes at `at` (or the descriptor's position, which then moves).
	pub fn read(&mut self, fd: u32, max: usize, at: Option<u64>) -> R<Vec<u8>> {
		let (open, data) = self.file(fd)?;
		let from = (at.unwrap_or(open.pos) as usize).min(data.len());
		let bytes = data[from..(from + max).min(data.len())].to_vec();
		if at.is_none() {
			open.pos = (from + bytes.len()) as u64;
		}
		Ok(bytes)
	}

	/// Writes `bytes` at `at` (or the position, or the end when appending).
	pub fn write(&mut self, fd: u32, bytes: &[u8], at: Option<u64>) -> R<usize> {
		let (used, cap) = (self.used, self.cap);
		let (open, data) = self.file(fd)?;
		let from = match at {
			Some(at) => at,
			None if open.append => data.len() as u64,
			None => open.pos,
		} as usize;
		let end = from.checked_add(bytes.len()).ok_or(INVAL)?;
		let grows = end.saturating_sub(data.len()) as u64;
		if used.saturating_add(grows) > cap {
			return Err(NOSPC);
		}
		if end > data.len() {
			// Exactly: amortised doubling would hold up to twice the cap.
			data.reserve_exact(end - data.len());
			data.resize(end, 0);
		}
		data[from..end].copy_from_slice(bytes);
		if at.is_none() {
			open.pos = end as u64;
		}
		self.used += grows;
		Ok(bytes.len())
	}

	/// `fd_seek`: whence 0 start, 1 current, 2 end.
	pub fn seek(&mut self, fd: u32, offset: i64, whence: u8) -> R<u64> {
		let (open, data) = self.file(fd)?;
		let base = match whence {
			0 => 0,
			1 => open.pos as i64,
			2 => data.len() as i64,
			_ => return Err(INVAL),
		};
		let pos = base.checked_add(offset).filter(|p| *p >= 0).ok_or(INVAL)?;
		open.pos = pos as u64;
		Ok(open.pos)
	}

	pub fn set_size(&mut self, fd: u32, size: u64) -> R<()> {
		let (used, cap) = (self.used, self.cap);
		let (_, data) = self.file(fd)?;
		let old = data.len() as u64;
		if size > old && used.saturating_add(size - old) > cap {
			return Err(NOSPC);
		}
		if size > old {
			data.reserve_exact((size - old) as usize);
		}
		data.resize(size as usize, 0);
		// Shrunk memory is given back, not kept: `used` counts bytes the host holds.
		data.shrink_to_fit();
		self.used = used + size - old;
		Ok(())
	}

	/// The 64-byte `filestat` of a node.
	fn stat(&self, node: usize) -> [u8; 64] {
		let (kind, size) = match &self.nodes[node] {
			Node::File(data) => (REGULAR_FILE, data.len() as u64),
			_ => (DIRECTORY, 0),
		};
		let mut s = [0u8; 64];
		s[8..16].copy_from_slice(&(node as u64 + 1).to_le_bytes());
		s[16] = kind;
		s[24..32].copy_from_slice(&1u64.to_le_bytes());
		s[32..40].copy_from_slice(&size.to_le_bytes());
		for at in [40, 48, 56] {
			s[at..at + 8].copy_from_slice(&EPOCH_NS.to_le_bytes());
		}
		s
	}

	pub fn fd_stat(&self, fd: u32) -> R<[u8; 64]> {
		let node = if fd == PREOPEN_FD { 0 } else { self.fds.get(&fd).ok_or(BADF)?.node };
		Ok(self.stat(node))
	}

	pub fn path_stat(&self, fd: u32, path: &[u8]) -> R<[u8; 64]> {
		Ok(self.stat(self.lookup(fd, path)?))
	}

	/// File type (`fdstat`) and whether it appends.
	pub fn fd_kind(&self, fd: u32) -> R<(u8, bool)> {
		if fd == PREOPEN_FD {
			return Ok((DIRECTORY, false));
		}
		let open = self.fds.get(&fd).ok_or(BADF)?;
		let kind =
			if matches!(self.nodes[open.node], Node::File(_)) { REGULAR_FILE } else { DIRECTORY };
		Ok((kind, open.append))
	}

	pub fn mkdir(&mut self, fd: u32, path: &[u8]) -> R<()> {
		let (dir, Some(name)) = self.walk(fd, path)? else { return Err(EXIST) };
		if self.entries_mut(dir).contains_key(&name) {
			return Err(EXIST);
		}
		let node = self.make(Node::Dir { entries: BTreeMap::new(), parent: dir })?;
		self.entries_mut(dir).insert(name, node);
		Ok(())
	}

	/// `path_unlink_file` (`dir` false) or `path_remove_directory` (`dir` true).
	pub fn remove(&mut self, fd: u32, path: &[u8], dir: bool) -> R<()> {
		let (parent, Some(name)) = self.walk(fd, path)? else { return Err(INVAL) };
		let node = *self.entries_mut(parent).get(&name).ok_or(NOENT)?;
		match (&self.nodes[node], dir) {
			(Node::Dir { .. }, false) => return Err(ISDIR),
			(Node::File(_), true) => return Err(NOTDIR),
			(Node::Dir { entries, .. }, true) if !entries.is_empty() => return Err(NOTEMPTY),
			_ => {},
		}
		self.entries_mut(parent).remove(&name);
		if dir {
			self.used -= NODE_COST;
			self.live -= 1;
			self.nodes[node] = Node::Gone;
		} else {
			self.collect(node);
		}
		Ok(())
	}

	pub fn rename(&mut self, fd: u32, from: &[u8], to_fd: u32, to: &[u8]) -> R<()> {
		let (from_dir, Some(from_name)) = self.walk(fd, from)? else { return Err(INVAL) };
		let (to_dir, Some(to_name)) = self.walk(to_fd, to)? else { return Err(INVAL) };
		let node = *self.entries_mut(from_dir).get(&from_name).ok_or(NOENT)?;
		// A directory may not move into itself or below itself.
		let mut up = to_dir;
		while up != 0 {
			if up == node {
				return Err(INVAL);
			}
			up = match self.nodes[up] {
				Node::Dir { parent, .. } => parent,
				_ => 0,
			};
		}
		if let Some(&old) = self.entries_mut(to_dir).get(&to_name) {
			if old == node {
				return Ok(());
			}
			match (&self.nodes[old], &self.nodes[node]) {
				(Node::Dir { entries, .. }, Node::Dir { .. }) if !entries.is_empty() => {
					return Err(NOTEMPTY)
				},
				(Node::Dir { .. }, Node::File(_)) => return Err(ISDIR),
				(Node::File(_), Node::Dir { .. }) => return Err(NOTDIR),
				_ => {},
			}
			let is_dir = matches!(self.nodes[old], Node::Dir { .. });
			self.remove(to_fd, to, is_dir)?;
		}
		self.entries_mut(from_dir).remove(&from_name);
		self.entries_mut(to_dir).insert(to_name, node);
		if let Node::Dir { parent, .. } = &mut self.nodes[node] {
			*parent = to_dir;
		}
		Ok(())
	}

	/// `fd_readdir`: entries from `cookie` on, packed as WASI `dirent`s, cut at `len`
	/// bytes (a full buffer tells the caller to ask again).
	pub fn readdir(&self, fd: u32, cookie: u64, len: usize) -> R<Vec<u8>> {
		let dir = self.dir_of(fd)?;
		let Node::Dir { entries, .. } = &self.nodes[dir] else { return Err(NOTDIR) };
		let mut out = Vec::new();
		for (i, (name, node)) in entries.iter().enumerate().skip(cookie as usize) {
			let kind =
				if matches!(self.nodes[*node], Node::File(_)) { REGULAR_FILE } else { DIRECTORY };
			out.extend_from_slice(&(i as u64 + 1).to_le_bytes());
			out.extend_from_slice(&(*node as u64 + 1).to_le_bytes());
			out.extend_from_slice(&(name.len() as u32).to_le_bytes());
			out.extend_from_slice(&[kind, 0, 0, 0]);
			out.extend_from_slice(name);
			if out.len() >= len {
				break;
			}
		}
		out.truncate(len);
		Ok(out)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn files_live_in_a_bounded_tree_that_cannot_be_left() {
		let mut s = Scratch::new(1000);
		s.mkdir(PREOPEN_FD, b"d").unwrap();
		let fd = s.open(PREOPEN_FD, b"d/f", O_CREAT, 0).unwrap();
		assert_eq!(s.write(fd, b"hello", None), Ok(5));
		assert_eq!(s.seek(fd, 1, 0), Ok(1));
		assert_eq!(s.read(fd, 10, None).unwrap(), b"ello");
		assert_eq!(s.open(PREOPEN_FD, b"d/f", O_CREAT | O_EXCL, 0), Err(EXIST));
		assert_eq!(s.open(PREOPEN_FD, b"/etc/passwd", 0, 0), Err(NOTCAPABLE));
		assert_eq!(s.open(PREOPEN_FD, b"d/../../x", O_CREAT, 0), Err(NOTCAPABLE));
		assert_eq!(s.open(PREOPEN_FD, b"nope", 0, 0), Err(NOENT));
		// 1000 bytes: the root, d and f cost 128 each, "hello" 5.
		assert_eq!(s.write(fd, &[0; 700], None), Err(NOSPC));
		assert!(s.write(fd, &[0; 600], None).is_ok());
		assert_eq!(s.remove(PREOPEN_FD, b"d", true), Err(NOTEMPTY));
		s.rename(PREOPEN_FD, b"d/f", PREOPEN_FD, b"g").unwrap();
		s.remove(PREOPEN_FD, b"d", true).unwrap();
		s.remove(PREOPEN_FD, b"g", false).unwrap();
		// Still open: its bytes are freed on close.
		assert!(s.used > 600);
		s.close(fd).unwrap();
		assert_eq!(s.used, NODE_COST);
	}

	#[test]
	fn sizes_cannot_overflow_or_hold_memory_they_gave_up() {
		let mut s = Scratch::new(1 << 20);
		let fd = s.open(PREOPEN_FD, b"f", O_CREAT, 0).unwrap();
		assert_eq!(s.set_size(fd, u64::MAX), Err(NOSPC));
		assert_eq!(s.write(fd, b"x", Some(u64::MAX - 1)), Err(NOSPC));
		for _ in 0..10 {
			s.set_size(fd, 900_000).unwrap();
			s.set_size(fd, 0).unwrap();
		}
		let (_, data) = s.file(fd).unwrap();
		assert_eq!(data.capacity(), 0);
		// Making and removing entries ends too (numbers are never reused).
		let made = (0..70_000)
			.take_while(|_| {
				s.mkdir(PREOPEN_FD, b"d").is_ok_and(|()| s.remove(PREOPEN_FD, b"d", true).is_ok())
			})
			.count();
		assert!(made < MAX_MADE, "{made}");
	}
}
