//! A small DEFLATE (RFC 1951) decoder for zipped reports: plugins may depend
//! only on the workspace's crates, none of which inflates. Output is bounded
//! so a zip bomb fails fast instead of exhausting memory.

use crate::ParseError;

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    bit: u32,
    nbits: u32,
}

impl Bits<'_> {
    fn need(&mut self, n: u32) -> Result<(), ParseError> {
        while self.nbits < n {
            let byte = *self.data.get(self.pos).ok_or_else(|| {
                ParseError::new("the zip entry is truncated (deflate data ends early)")
            })?;
            self.pos += 1;
            self.bit |= u32::from(byte) << self.nbits;
            self.nbits += 8;
        }
        Ok(())
    }

    fn bits(&mut self, n: u32) -> Result<u32, ParseError> {
        if n == 0 {
            return Ok(0);
        }
        self.need(n)?;
        let v = self.bit & ((1u32 << n) - 1);
        self.bit >>= n;
        self.nbits -= n;
        Ok(v)
    }
}

/// A canonical Huffman code: counts per length and symbols in code order.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Result<Self, ParseError> {
        let mut counts = [0u16; 16];
        for &l in lengths {
            counts[usize::from(l)] += 1;
        }
        counts[0] = 0;
        let mut offs = [0u16; 16];
        for i in 1..16 {
            offs[i] = offs[i - 1] + counts[i - 1];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (sym, &l) in lengths.iter().enumerate() {
            if l != 0 {
                let o = &mut offs[usize::from(l)];
                let slot = symbols
                    .get_mut(usize::from(*o))
                    .ok_or_else(|| ParseError::new("invalid deflate Huffman table"))?;
                *slot = u16::try_from(sym).unwrap_or(u16::MAX);
                *o += 1;
            }
        }
        Ok(Huffman { counts, symbols })
    }

    fn decode(&self, b: &mut Bits<'_>) -> Result<u16, ParseError> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= i32::try_from(b.bits(1)?).unwrap_or(0);
            let count = i32::from(self.counts[len]);
            if code - count < first {
                let i = usize::try_from(index + (code - first)).unwrap_or(usize::MAX);
                return self
                    .symbols
                    .get(i)
                    .copied()
                    .ok_or_else(|| ParseError::new("invalid deflate code"));
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err(ParseError::new("invalid deflate code"))
    }
}

const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Inflates raw DEFLATE `data`, refusing output beyond `limit` bytes.
pub fn inflate(data: &[u8], limit: usize) -> Result<Vec<u8>, ParseError> {
    let mut out: Vec<u8> = Vec::new();
    let mut b = Bits {
        data,
        pos: 0,
        bit: 0,
        nbits: 0,
    };
    loop {
        let last = b.bits(1)?;
        match b.bits(2)? {
            0 => {
                b.bit = 0;
                b.nbits = 0;
                let hdr = data
                    .get(b.pos..b.pos + 4)
                    .ok_or_else(|| ParseError::new("the zip entry is truncated"))?;
                let len = usize::from(u16::from_le_bytes([hdr[0], hdr[1]]));
                b.pos += 4;
                let chunk = data
                    .get(b.pos..b.pos + len)
                    .ok_or_else(|| ParseError::new("the zip entry is truncated"))?;
                out.extend_from_slice(chunk);
                b.pos += len;
            }
            kind @ (1 | 2) => {
                let (lit, dist) = if kind == 1 {
                    let mut l = [0u8; 288];
                    for (i, v) in l.iter_mut().enumerate() {
                        *v = match i {
                            0..=143 => 8,
                            144..=255 => 9,
                            256..=279 => 7,
                            _ => 8,
                        };
                    }
                    (Huffman::new(&l)?, Huffman::new(&[5u8; 30])?)
                } else {
                    dynamic_tables(&mut b)?
                };
                loop {
                    let sym = lit.decode(&mut b)?;
                    if sym < 256 {
                        out.push(u8::try_from(sym).unwrap_or(0));
                    } else if sym == 256 {
                        break;
                    } else {
                        let i = usize::from(sym - 257);
                        let (base, extra) = (
                            *LEN_BASE
                                .get(i)
                                .ok_or_else(|| ParseError::new("invalid deflate length"))?,
                            LEN_EXTRA[i],
                        );
                        let len = usize::from(base) + b.bits(u32::from(extra))? as usize;
                        let d = usize::from(dist.decode(&mut b)?);
                        let (dbase, dextra) = (
                            *DIST_BASE
                                .get(d)
                                .ok_or_else(|| ParseError::new("invalid deflate distance"))?,
                            DIST_EXTRA[d],
                        );
                        let back = usize::from(dbase) + b.bits(u32::from(dextra))? as usize;
                        if back > out.len() {
                            return Err(ParseError::new("invalid deflate distance"));
                        }
                        let start = out.len() - back;
                        for k in 0..len {
                            let byte = out[start + k];
                            out.push(byte);
                        }
                    }
                    if out.len() > limit {
                        return Err(ParseError::new(format!(
                            "a zipped report expands beyond {limit} bytes"
                        )));
                    }
                }
            }
            _ => return Err(ParseError::new("invalid deflate block type")),
        }
        if out.len() > limit {
            return Err(ParseError::new(format!(
                "a zipped report expands beyond {limit} bytes"
            )));
        }
        if last == 1 {
            return Ok(out);
        }
    }
}

fn dynamic_tables(b: &mut Bits<'_>) -> Result<(Huffman, Huffman), ParseError> {
    const ORDER: [usize; 19] = [
        16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
    ];
    let nlen = b.bits(5)? as usize + 257;
    let ndist = b.bits(5)? as usize + 1;
    let ncode = b.bits(4)? as usize + 4;
    let mut cl = [0u8; 19];
    for &o in ORDER.iter().take(ncode) {
        cl[o] = u8::try_from(b.bits(3)?).unwrap_or(0);
    }
    let clh = Huffman::new(&cl)?;
    let mut lengths = vec![0u8; nlen + ndist];
    let mut i = 0;
    while i < nlen + ndist {
        let sym = clh.decode(b)?;
        let (value, repeat) = match sym {
            0..=15 => (u8::try_from(sym).unwrap_or(0), 1),
            16 => {
                let prev = *lengths
                    .get(i.wrapping_sub(1))
                    .ok_or_else(|| ParseError::new("invalid deflate lengths"))?;
                (prev, 3 + b.bits(2)? as usize)
            }
            17 => (0, 3 + b.bits(3)? as usize),
            _ => (0, 11 + b.bits(7)? as usize),
        };
        if i + repeat > lengths.len() {
            return Err(ParseError::new("invalid deflate lengths"));
        }
        lengths[i..i + repeat].fill(value);
        i += repeat;
    }
    Ok((
        Huffman::new(&lengths[..nlen])?,
        Huffman::new(&lengths[nlen..])?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_block() {
        let data = [0x01, 3, 0, !3, 0xff, b'a', b'b', b'c'];
        assert_eq!(inflate(&data, 10).unwrap(), b"abc");
        assert!(inflate(&data[..6], 10).is_err());
    }

    #[test]
    fn fixed_huffman_block_with_back_references() {
        // "abcabcabcabcabcabc hello hello hello\n" three times, deflated.
        let data = [
            75, 76, 74, 78, 68, 69, 10, 25, 169, 57, 57, 249, 200, 36, 87, 34, 213, 20, 1, 0,
        ];
        let expected = b"abcabcabcabcabcabc hello hello hello\n".repeat(3);
        assert_eq!(inflate(&data, 1000).unwrap(), expected);
        // A bomb stops at the limit instead of filling memory.
        let e = inflate(&data, 40).unwrap_err();
        assert!(e.message.contains("expands beyond 40 bytes"), "{e}");
    }

    #[test]
    fn damaged_streams_are_errors() {
        assert!(inflate(&[], 10).is_err());
        assert!(inflate(&[0x07], 10).is_err(), "block type 3 is invalid");
        // A fixed-Huffman stream cut short.
        let data = [75, 76, 74, 78, 68, 69, 10, 25, 169, 57];
        assert!(inflate(&data, 1000).is_err());
    }
}
