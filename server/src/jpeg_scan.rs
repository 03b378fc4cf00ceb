//! Whether a baseline JPEG's scan data holds every block its header promises.
//!
//! A JPEG cut short and given its end marker back (a half-written file, a
//! copy interrupted and "repaired") decodes without an error: the decoder
//! fills the missing rows from zero bits, which paints them one flat colour.
//! The same happens when a header claims more rows than the data holds. This
//! walks the Huffman-coded data without decoding pixels and counts the
//! blocks; it answers only for the layout phone cameras write (baseline or
//! extended sequential, one scan with every component) and stays out of the
//! way for anything else.
//!
//! One file (about 530 lines, a fifth of them tests): the header reader, the
//! Huffman tables and the bit reader serve this one walk and nothing else.

/// `Some(false)` when the scan data ends more than one row of blocks before
/// the header's size; `Some(true)` when it is whole; `None` when the file is
/// not a layout this reads (progressive, arithmetic, several scans) or is
/// broken in a way the decoder judges better.
pub fn scan_is_whole(bytes: &[u8]) -> Option<bool> {
    let header = Header::read(bytes)?;
    let mut bits = Bits::new(bytes, header.scan_start);
    let (per_row, rows) = header.mcu_grid();
    let total = per_row.checked_mul(rows)?;
    let mut done = 0u64;
    let mut until_restart = header.restart_interval;
    // Out of data where more was due: a cut only when the data ends at the
    // end marker or the file's end; another marker there means this walk
    // misread the layout, and the decoder is the better judge.
    let ended_early = |bits: &Bits, done: u64| match bits.next_marker() {
        Some(0xD9) | None => Some(total - done <= per_row),
        Some(_) => None,
    };
    while done < total {
        if header.restart_interval > 0 && until_restart == 0 {
            match bits.restart() {
                Restart::Next => {}
                Restart::Ended => return ended_early(&bits, done),
                Restart::Odd => return None,
            }
            until_restart = header.restart_interval;
        }
        for component in &header.scan {
            for _ in 0..component.blocks_per_mcu {
                match block(&mut bits, &header.tables, component) {
                    Step::Done => {}
                    Step::OutOfData => return ended_early(&bits, done),
                    Step::Corrupt => return None,
                }
            }
        }
        done += 1;
        until_restart = until_restart.saturating_sub(1);
    }
    Some(true)
}

enum Restart {
    Next,
    /// The data ended where the restart marker was due.
    Ended,
    Odd,
}

enum Step {
    Done,
    OutOfData,
    Corrupt,
}

/// Skips one 8×8 block: the DC difference, then AC run/size pairs to EOB.
fn block(bits: &mut Bits, tables: &Tables, c: &ScanComponent) -> Step {
    let Some(dc) = tables.dc[c.dc].as_ref() else {
        return Step::Corrupt;
    };
    let Some(ac) = tables.ac[c.ac].as_ref() else {
        return Step::Corrupt;
    };
    let size = match dc.decode(bits) {
        Ok(s) => s,
        Err(step) => return step,
    };
    if size > 16 || !bits.skip(u32::from(size)) {
        return if size > 16 {
            Step::Corrupt
        } else {
            Step::OutOfData
        };
    }
    let mut k = 1;
    while k < 64 {
        let rs = match ac.decode(bits) {
            Ok(s) => s,
            Err(step) => return step,
        };
        let (run, size) = (rs >> 4, rs & 15);
        if size == 0 {
            if run != 15 {
                break; // end of block
            }
            k += 16;
            continue;
        }
        k += usize::from(run);
        if !bits.skip(u32::from(size)) {
            return Step::OutOfData;
        }
        k += 1;
    }
    if k > 64 {
        return Step::Corrupt;
    }
    Step::Done
}

/// A Huffman table in the decoding form of ITU T.81 F.2.2.3.
struct Huffman {
    max_code: [i32; 17],
    val_ptr: [i32; 17],
    min_code: [i32; 17],
    values: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8; 16], values: Vec<u8>) -> Option<Huffman> {
        let mut h = Huffman {
            max_code: [-1; 17],
            val_ptr: [0; 17],
            min_code: [0; 17],
            values,
        };
        let (mut code, mut k) = (0i32, 0i32);
        for len in 1..=16 {
            let n = i32::from(counts[len - 1]);
            if n > 0 {
                h.val_ptr[len] = k;
                h.min_code[len] = code;
                code += n;
                k += n;
                h.max_code[len] = code - 1;
            }
            code <<= 1;
        }
        (k as usize <= h.values.len()).then_some(h)
    }

    fn decode(&self, bits: &mut Bits) -> Result<u8, Step> {
        let mut code = 0i32;
        for len in 1..=16 {
            let bit = bits.bit().ok_or(Step::OutOfData)?;
            code = (code << 1) | bit as i32;
            if code <= self.max_code[len] {
                let at = self.val_ptr[len] + code - self.min_code[len];
                return self.values.get(at as usize).copied().ok_or(Step::Corrupt);
            }
        }
        Err(Step::Corrupt)
    }
}

#[derive(Default)]
struct Tables {
    dc: [Option<Huffman>; 4],
    ac: [Option<Huffman>; 4],
}

struct ScanComponent {
    blocks_per_mcu: u32,
    dc: usize,
    ac: usize,
}

/// A frame header: width, height, and each component's (id, H, V).
type Frame = (u64, u64, Vec<(u8, u64, u64)>);

struct Header {
    width: u64,
    height: u64,
    /// Largest sampling factors (H, V) of the frame.
    max_sampling: (u64, u64),
    /// The one component's sampling, when the scan holds only one.
    single: Option<(u64, u64)>,
    scan: Vec<ScanComponent>,
    tables: Tables,
    restart_interval: u32,
    scan_start: usize,
}

impl Header {
    /// Reads segments from SOI up to the first SOS.
    fn read(bytes: &[u8]) -> Option<Header> {
        if bytes.get(..2)? != [0xFF, 0xD8] {
            return None;
        }
        let mut tables = Tables::default();
        let mut frame: Option<Frame> = None;
        let mut restart_interval = 0;
        let mut i = 2;
        loop {
            if *bytes.get(i)? != 0xFF {
                return None;
            }
            let marker = *bytes.get(i + 1)?;
            if marker == 0xFF {
                i += 1;
                continue;
            }
            let len = usize::from(u16::from_be_bytes([*bytes.get(i + 2)?, *bytes.get(i + 3)?]));
            let body = bytes.get(i + 4..i + 2 + len)?;
            match marker {
                // Baseline and extended sequential, Huffman-coded.
                0xC0 | 0xC1 => {
                    let height = u64::from(u16::from_be_bytes([*body.get(1)?, *body.get(2)?]));
                    let width = u64::from(u16::from_be_bytes([*body.get(3)?, *body.get(4)?]));
                    let n = usize::from(*body.get(5)?);
                    let mut components = Vec::with_capacity(n);
                    for c in 0..n {
                        let at = 6 + 3 * c;
                        let sampling = *body.get(at + 1)?;
                        let (h, v) = (u64::from(sampling >> 4), u64::from(sampling & 15));
                        if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
                            return None;
                        }
                        components.push((*body.get(at)?, h, v));
                    }
                    frame = Some((width, height, components));
                }
                // Progressive, lossless, arithmetic-coded: not read here.
                0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return None,
                0xC4 => read_tables(body, &mut tables)?,
                0xDD => {
                    restart_interval =
                        u32::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]))
                }
                0xDA => {
                    let (width, height, components) = frame?;
                    if width == 0 || height == 0 {
                        return None; // the height comes later (DNL)
                    }
                    let n = usize::from(*body.first()?);
                    if n != components.len() {
                        return None; // one scan per component: not a camera's layout
                    }
                    let max_sampling = (
                        components.iter().map(|c| c.1).max()?,
                        components.iter().map(|c| c.2).max()?,
                    );
                    let mut scan = Vec::with_capacity(n);
                    for s in 0..n {
                        let id = *body.get(1 + 2 * s)?;
                        let selectors = *body.get(2 + 2 * s)?;
                        let (_, h, v) = components.iter().find(|c| c.0 == id)?;
                        let (dc, ac) = (usize::from(selectors >> 4), usize::from(selectors & 15));
                        if dc > 3 || ac > 3 {
                            return None;
                        }
                        scan.push(ScanComponent {
                            blocks_per_mcu: if n == 1 { 1 } else { (h * v) as u32 },
                            dc,
                            ac,
                        });
                    }
                    let single = (n == 1).then(|| (components[0].1, components[0].2));
                    return Some(Header {
                        width,
                        height,
                        max_sampling,
                        single,
                        scan,
                        tables,
                        restart_interval,
                        scan_start: i + 2 + len,
                    });
                }
                0xD8 | 0xD9 => return None,
                _ => {}
            }
            i += 2 + len;
        }
    }

    /// MCUs per row and rows of MCUs (ITU T.81 A.2).
    fn mcu_grid(&self) -> (u64, u64) {
        let (hmax, vmax) = self.max_sampling;
        match self.single {
            // A lone component's blocks cover its own (subsampled) size.
            Some((h, v)) => (
                (self.width * h).div_ceil(hmax).div_ceil(8),
                (self.height * v).div_ceil(vmax).div_ceil(8),
            ),
            None => (
                self.width.div_ceil(8 * hmax),
                self.height.div_ceil(8 * vmax),
            ),
        }
    }
}

fn read_tables(mut body: &[u8], tables: &mut Tables) -> Option<()> {
    while !body.is_empty() {
        let class_id = *body.first()?;
        let counts: [u8; 16] = body.get(1..17)?.try_into().ok()?;
        let total: usize = counts.iter().map(|c| usize::from(*c)).sum();
        let values = body.get(17..17 + total)?.to_vec();
        let table = Huffman::new(&counts, values)?;
        let id = usize::from(class_id & 15);
        if id > 3 {
            return None;
        }
        match class_id >> 4 {
            0 => tables.dc[id] = Some(table),
            1 => tables.ac[id] = Some(table),
            _ => return None,
        }
        body = &body[17 + total..];
    }
    Some(())
}

/// Bits of the entropy-coded data: stuffed bytes (FF 00) read as FF; any
/// other marker ends the data, except a restart marker where one is due.
struct Bits<'a> {
    bytes: &'a [u8],
    at: usize,
    buffer: u64,
    count: u32,
    /// A marker was reached: no more data bytes until a restart.
    stopped: bool,
}

impl<'a> Bits<'a> {
    fn new(bytes: &'a [u8], at: usize) -> Self {
        Bits {
            bytes,
            at,
            buffer: 0,
            count: 0,
            stopped: false,
        }
    }

    fn fill(&mut self) {
        while self.count <= 56 && !self.stopped {
            let Some(&b) = self.bytes.get(self.at) else {
                self.stopped = true;
                return;
            };
            if b == 0xFF {
                match self.bytes.get(self.at + 1) {
                    Some(0x00) => self.at += 2,
                    _ => {
                        self.stopped = true;
                        return;
                    }
                }
            } else {
                self.at += 1;
            }
            self.buffer = (self.buffer << 8) | u64::from(b);
            self.count += 8;
        }
    }

    fn bit(&mut self) -> Option<u32> {
        if self.count == 0 {
            self.fill();
            if self.count == 0 {
                return None;
            }
        }
        self.count -= 1;
        Some(((self.buffer >> self.count) & 1) as u32)
    }

    fn skip(&mut self, n: u32) -> bool {
        if self.count < n {
            self.fill();
            if self.count < n {
                return false;
            }
        }
        self.count -= n;
        true
    }

    /// Where the marker the data stopped at begins, past any 0xFF fill bytes
    /// (T.81 B.1.1.2 allows them before a marker): a file cut just after a
    /// data byte 0xFF reads `FF FF D9`.
    fn marker_at(&self) -> usize {
        let mut i = self.at;
        while self.bytes.get(i) == Some(&0xFF) && self.bytes.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        i
    }

    /// The marker the data stopped at (`None` at the file's end).
    fn next_marker(&self) -> Option<u8> {
        let i = self.marker_at();
        match (self.bytes.get(i), self.bytes.get(i + 1)) {
            (Some(0xFF), Some(m)) => Some(*m),
            _ => None,
        }
    }

    /// At a restart: drops the padding bits of the last byte, then expects RSTn.
    fn restart(&mut self) -> Restart {
        // The encoder pads the interval's last byte; a whole byte left over,
        // or data bytes before the marker, is a layout this walk misread.
        if self.count >= 8 {
            return Restart::Odd;
        }
        self.fill();
        if self.count >= 8 {
            return Restart::Odd;
        }
        self.count = 0;
        self.buffer = 0;
        match self.next_marker() {
            Some(0xD0..=0xD7) => {
                self.at = self.marker_at() + 2;
                self.stopped = false;
                Restart::Next
            }
            Some(0xD9) | None => Restart::Ended,
            Some(_) => Restart::Odd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::scan_is_whole;

    fn noise_jpeg(w: u32, h: u32, seed: u64) -> Vec<u8> {
        let mut state = seed;
        let img = image::RgbImage::from_fn(w, h, |_, _| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            image::Rgb([state as u8, (state >> 8) as u8, (state >> 16) as u8])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn a_whole_jpeg_is_whole_at_odd_sizes() {
        for (w, h) in [(8, 8), (17, 9), (640, 480), (33, 200), (1, 1)] {
            let jpeg = noise_jpeg(w, h, 0x2545_F491_4F6C_DD1D ^ u64::from(w));
            assert_eq!(scan_is_whole(&jpeg), Some(true), "{w}x{h}");
        }
        let gray = image::GrayImage::from_fn(70, 45, |x, y| image::Luma([(x * y) as u8]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&gray)
            .unwrap();
        assert_eq!(scan_is_whole(&out), Some(true), "one component");
    }

    #[test]
    fn a_cut_jpeg_with_its_end_marker_back_is_not_whole() {
        let jpeg = noise_jpeg(320, 240, 7);
        for fraction in [2, 3, 5] {
            let mut cut = jpeg[..jpeg.len() * (fraction - 1) / fraction].to_vec();
            cut.extend_from_slice(&[0xFF, 0xD9]);
            assert_eq!(
                scan_is_whole(&cut),
                Some(false),
                "cut to {}/{fraction}",
                fraction - 1
            );
        }
    }

    #[test]
    fn a_cut_just_after_a_data_byte_ff_is_not_whole() {
        // The cut leaves a stuffed 0xFF without its 0x00, so the file reads
        // `… FF FF D9`; and a cut padded with 0xFF fill before the end marker.
        let jpeg = noise_jpeg(320, 240, 5);
        let scan = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        let half = jpeg.len() / 2;
        let ff = scan
            + 12
            + jpeg[scan + 12..half]
                .windows(2)
                .position(|w| w == [0xFF, 0x00])
                .unwrap();
        let mut cut = jpeg[..=ff].to_vec();
        cut.extend_from_slice(&[0xFF, 0xD9]);
        assert_eq!(scan_is_whole(&cut), Some(false));
        let mut padded = jpeg[..half].to_vec();
        padded.extend_from_slice(&[0xFF; 5]);
        padded.extend_from_slice(&[0xFF, 0xD9]);
        assert_eq!(scan_is_whole(&padded), Some(false));
    }

    #[test]
    fn a_header_claiming_more_rows_than_the_data_is_not_whole() {
        let mut jpeg = noise_jpeg(64, 64, 11);
        let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        jpeg[sof + 5..sof + 7].copy_from_slice(&256u16.to_be_bytes());
        assert_eq!(scan_is_whole(&jpeg), Some(false));
    }

    #[test]
    fn what_it_does_not_read_it_leaves_alone() {
        assert_eq!(scan_is_whole(b"not a jpeg"), None);
        let mut progressive = noise_jpeg(16, 16, 3);
        let sof = progressive
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .unwrap();
        progressive[sof + 1] = 0xC2;
        assert_eq!(scan_is_whole(&progressive), None);
    }

    #[test]
    fn every_real_photo_of_the_bench_is_whole() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench/photos");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return; // the bench photos live beside the repository, not in it
        };
        for entry in entries.flatten() {
            let bytes = std::fs::read(entry.path()).unwrap();
            if bytes.starts_with(&[0xFF, 0xD8]) {
                assert_ne!(scan_is_whole(&bytes), Some(false), "{:?}", entry.path());
            }
        }
    }
}
