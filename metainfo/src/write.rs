//! Writing metainfo as bencode: canonical (sorted keys) for everything we generate, with a
//! parsed info dictionary copied verbatim so its info-hash never changes.

use crate::{Info, Metainfo};

/// Appends bencode values to a buffer. Callers write dictionary keys in sorted order.
struct Encoder {
    out: Vec<u8>,
}

impl Encoder {
    fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.out
            .extend_from_slice(bytes.len().to_string().as_bytes());
        self.out.push(b':');
        self.out.extend_from_slice(bytes);
        self
    }

    fn int(&mut self, value: i128) -> &mut Self {
        self.out.push(b'i');
        self.out.extend_from_slice(value.to_string().as_bytes());
        self.out.push(b'e');
        self
    }

    fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.out.extend_from_slice(bytes);
        self
    }

    fn open_dict(&mut self) -> &mut Self {
        self.out.push(b'd');
        self
    }

    fn open_list(&mut self) -> &mut Self {
        self.out.push(b'l');
        self
    }

    fn close(&mut self) -> &mut Self {
        self.out.push(b'e');
        self
    }

    fn string_list(&mut self, items: &[String]) -> &mut Self {
        self.open_list();
        for item in items {
            self.bytes(item.as_bytes());
        }
        self.close()
    }
}

/// The canonical bencoding of an info dictionary (keys sorted; `private` only when set).
pub(crate) fn encode_info(info: &Info) -> Vec<u8> {
    let mut e = Encoder {
        out: Vec::with_capacity(info.pieces.len() * 20 + 256),
    };
    e.open_dict();
    if info.single_file {
        let length = info.files.first().map_or(0, |f| f.length);
        e.bytes(b"length").int(length.into());
    } else {
        e.bytes(b"files").open_list();
        for file in &info.files {
            // `path[0]` is the torrent name; the BEP 3 path list is the rest.
            let path = file.path.get(1..).unwrap_or_default();
            e.open_dict().bytes(b"length").int(file.length.into());
            e.bytes(b"path").string_list(path).close();
        }
        e.close();
    }
    e.bytes(b"name").bytes(info.name.as_bytes());
    e.bytes(b"piece length").int(info.piece_length.into());
    e.bytes(b"pieces").bytes(info.pieces.as_flattened());
    if info.private {
        e.bytes(b"private").int(1);
    }
    e.close();
    e.out
}

impl Metainfo {
    /// The metainfo file's bytes: top-level keys sorted, empty optional fields left out, the
    /// info dictionary exactly as parsed (or canonical when created). A single web seed is
    /// written as a string, several as a list.
    pub fn to_bytes(&self) -> Vec<u8> {
        let info = self.info_bytes();
        let mut e = Encoder {
            out: Vec::with_capacity(info.len() + 512),
        };
        e.open_dict();
        if let Some(announce) = &self.announce {
            e.bytes(b"announce").bytes(announce.as_bytes());
        }
        if !self.announce_list.is_empty() {
            e.bytes(b"announce-list").open_list();
            for tier in &self.announce_list {
                e.string_list(tier);
            }
            e.close();
        }
        if let Some(comment) = &self.comment {
            e.bytes(b"comment").bytes(comment.as_bytes());
        }
        if let Some(created_by) = &self.created_by {
            e.bytes(b"created by").bytes(created_by.as_bytes());
        }
        if let Some(date) = self.creation_date {
            e.bytes(b"creation date").int(date.into());
        }
        e.bytes(b"info").raw(info);
        match self.url_list.as_slice() {
            [] => {}
            [one] => {
                e.bytes(b"url-list").bytes(one.as_bytes());
            }
            many => {
                e.bytes(b"url-list").string_list(many);
            }
        }
        e.close();
        e.out
    }
}
