//! Searching, sorting and paging the catalog (`GET /torrents?q=&sort=&page=&per_page=`).

use serde::Deserialize;

use super::entry::Entry;

/// Longest search string accepted.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most entries on one page.
pub const MAX_PER_PAGE: u32 = 200;
/// Entries on a page when `per_page` is not given.
pub const DEFAULT_PER_PAGE: u32 = 50;

/// The listing parameters as they come in the query string.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListParams {
    pub q: Option<String>,
    pub sort: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
    pub format: Option<String>,
}

/// How entries are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// By name, A to Z.
    Name,
    /// Largest first.
    Size,
    /// Newest first (the default).
    Added,
    /// Most seeders first.
    Seeders,
}

impl Sort {
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Name => "name",
            Sort::Size => "size",
            Sort::Added => "added",
            Sort::Seeders => "seeders",
        }
    }
}

/// Checked listing parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Lower-cased search text; empty matches everything.
    pub q: String,
    pub sort: Sort,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

/// Why listing parameters were refused (HTTP 400 with this text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("`q` is longer than {MAX_QUERY_CHARS} characters")]
    QueryTooLong,
    #[error("`sort` must be name, size, added or seeders")]
    BadSort,
    #[error("`page` must be a number from 1 to 1000000")]
    BadPage,
    #[error("`per_page` must be a number from 1 to {MAX_PER_PAGE}")]
    BadPerPage,
}

impl Listing {
    pub fn from_params(p: &ListParams) -> Result<Listing, ListError> {
        let q = p.q.as_deref().unwrap_or("").trim();
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(ListError::QueryTooLong);
        }
        let sort = match p.sort.as_deref() {
            None | Some("") | Some("added") => Sort::Added,
            Some("name") => Sort::Name,
            Some("size") => Sort::Size,
            Some("seeders") => Sort::Seeders,
            Some(_) => return Err(ListError::BadSort),
        };
        let number = |v: &Option<String>, default: u32, max: u32, err: ListError| match v {
            None => Ok(default),
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or(err),
        };
        Ok(Listing {
            q: q.to_lowercase(),
            sort,
            page: number(&p.page, 1, 1_000_000, ListError::BadPage)?,
            per_page: number(
                &p.per_page,
                DEFAULT_PER_PAGE,
                MAX_PER_PAGE,
                ListError::BadPerPage,
            )?,
        })
    }

    /// The entries matching the search, in order, before paging. `seeders` gives the current
    /// seeder count of an entry (only asked for when sorting by seeders).
    pub fn select<'a>(
        &self,
        entries: &'a [std::sync::Arc<Entry>],
        seeders: impl Fn(&Entry) -> u64,
    ) -> Vec<&'a std::sync::Arc<Entry>> {
        let mut matched: Vec<&std::sync::Arc<Entry>> = entries
            .iter()
            .filter(|e| self.q.is_empty() || e.name.to_lowercase().contains(&self.q))
            .collect();
        match self.sort {
            Sort::Name => matched.sort_by(|a, b| {
                a.name
                    .to_lowercase()
                    .cmp(&b.name.to_lowercase())
                    .then_with(|| a.info_hash.cmp(&b.info_hash))
            }),
            Sort::Size => matched.sort_by(|a, b| b.size.cmp(&a.size).then(a.name.cmp(&b.name))),
            Sort::Added => matched.sort_by(|a, b| {
                b.added
                    .cmp(&a.added)
                    .then_with(|| a.info_hash.cmp(&b.info_hash))
            }),
            Sort::Seeders => {
                matched.sort_by_cached_key(|e| (std::cmp::Reverse(seeders(e)), e.name.clone()))
            }
        }
        matched
    }

    /// The slice of `all` this page shows.
    pub fn page_of<'a, T>(&self, all: &'a [T]) -> &'a [T] {
        let start = (self.page as usize - 1).saturating_mul(self.per_page as usize);
        let end = start.saturating_add(self.per_page as usize).min(all.len());
        all.get(start..end).unwrap_or_default()
    }

    /// Number of pages for `total` entries (at least 1).
    pub fn pages(&self, total: usize) -> usize {
        total.div_ceil(self.per_page as usize).max(1)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn entry(name: &str, size: u64, added: u64) -> Arc<Entry> {
        Arc::new(Entry {
            info_hash: format!("{:0>40}", added),
            name: name.into(),
            size,
            files: Vec::new(),
            pieces: 1,
            piece_length: 16384,
            added,
            magnet: String::new(),
        })
    }

    fn params(pairs: &[(&str, &str)]) -> ListParams {
        let mut p = ListParams::default();
        for (k, v) in pairs {
            let v = Some(v.to_string());
            match *k {
                "q" => p.q = v,
                "sort" => p.sort = v,
                "page" => p.page = v,
                "per_page" => p.per_page = v,
                _ => {}
            }
        }
        p
    }

    #[test]
    fn searches_sorts_and_pages() {
        let all = vec![
            entry("Debian ISO", 30, 1),
            entry("alpine", 10, 3),
            entry("Arch", 20, 2),
        ];
        let names = |l: &Listing| -> Vec<String> {
            let sel = l.select(&all, |e| e.size);
            l.page_of(&sel).iter().map(|e| e.name.clone()).collect()
        };
        let l = Listing::from_params(&params(&[])).unwrap();
        assert_eq!(names(&l), ["alpine", "Arch", "Debian ISO"]);
        let l = Listing::from_params(&params(&[("sort", "name")])).unwrap();
        assert_eq!(names(&l), ["alpine", "Arch", "Debian ISO"]);
        let l = Listing::from_params(&params(&[("sort", "size"), ("q", "A")])).unwrap();
        assert_eq!(names(&l), ["Debian ISO", "Arch", "alpine"]);
        let l = Listing::from_params(&params(&[("q", "deb")])).unwrap();
        assert_eq!(names(&l), ["Debian ISO"]);
        let l = Listing::from_params(&params(&[
            ("sort", "seeders"),
            ("per_page", "2"),
            ("page", "2"),
        ]))
        .unwrap();
        assert_eq!(names(&l), ["alpine"]);
        assert_eq!(l.pages(3), 2);
        let l = Listing::from_params(&params(&[("page", "99")])).unwrap();
        assert!(names(&l).is_empty());
    }

    #[test]
    fn out_of_range_parameters_are_refused() {
        for (k, v, e) in [
            ("page", "0", ListError::BadPage),
            ("page", "-1", ListError::BadPage),
            ("page", "x", ListError::BadPage),
            ("per_page", "0", ListError::BadPerPage),
            ("per_page", "100000", ListError::BadPerPage),
            ("sort", "evil", ListError::BadSort),
        ] {
            assert_eq!(Listing::from_params(&params(&[(k, v)])), Err(e));
        }
        let long = "x".repeat(MAX_QUERY_CHARS + 1);
        assert_eq!(
            Listing::from_params(&params(&[("q", &long)])),
            Err(ListError::QueryTooLong)
        );
    }
}
