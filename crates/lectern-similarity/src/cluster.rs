//! Groups of hand-ins linked by similar pairs.

/// Connected components of the graph on `0..n` whose edges are `pairs` (union-find with
/// union by size and path halving: Tarjan, "Efficiency of a good but not linear set union
/// algorithm", JACM 1975; near-linear in `n` plus the number of pairs).
///
/// The caller chooses the edges (e.g. the pairs at or above its review threshold). Only
/// components of two or more hand-ins are returned, each sorted ascending, the list sorted
/// by size descending, then by first member. Pairs naming an index `>= n`, and loops
/// `(i, i)`, are ignored.
pub fn clusters(n: usize, pairs: impl Iterator<Item = (usize, usize)>) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    let mut size = vec![1usize; n];
    let find = |parent: &mut Vec<usize>, mut x: usize| {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    };
    for (a, b) in pairs {
        if a >= n || b >= n {
            continue;
        }
        let (mut ra, mut rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra == rb {
            continue;
        }
        if size[ra] < size[rb] {
            std::mem::swap(&mut ra, &mut rb);
        }
        parent[rb] = ra;
        size[ra] += size[rb];
    }
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); n];
    for x in 0..n {
        let root = find(&mut parent, x);
        groups[root].push(x);
    }
    let mut out: Vec<Vec<usize>> = groups.into_iter().filter(|g| g.len() >= 2).collect();
    out.sort_by(|x, y| y.len().cmp(&x.len()).then(x[0].cmp(&y[0])));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_sorted() {
        let pairs = [(5, 6), (1, 3), (3, 8), (0, 9), (9, 2), (7, 7), (4, 100)];
        let got = clusters(10, pairs.into_iter());
        assert_eq!(got, vec![vec![0, 2, 9], vec![1, 3, 8], vec![5, 6]]);
        assert!(clusters(3, std::iter::empty()).is_empty());
        assert!(clusters(0, [(0, 1)].into_iter()).is_empty());
    }
}
