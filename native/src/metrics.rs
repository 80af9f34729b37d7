//! younger_graph/metrics.py `graph_metrics`, except `op_type_entropy` (a float that numpy computes
//! with its own log2 and pairwise sums: the op-type counts go back to Python for it).

pub struct Metrics {
    pub num_components: i64,
    pub max_in_degree: i64,
    pub max_out_degree: i64,
    pub depth: i64,
    pub width: i64,
}

pub fn metrics(n: usize, src: &[i32], dst: &[i32]) -> Metrics {
    if n == 0 {
        return Metrics {
            num_components: 0,
            max_in_degree: 0,
            max_out_degree: 0,
            depth: 0,
            width: 0,
        };
    }
    let mut in_deg = vec![0u32; n];
    let mut out_deg = vec![0u32; n];
    for (&s, &d) in src.iter().zip(dst) {
        out_deg[s as usize] += 1;
        in_deg[d as usize] += 1;
    }
    let (depth, width) = levels(n, src, dst, &in_deg, &out_deg);
    Metrics {
        num_components: components(n, src, dst),
        max_in_degree: *in_deg.iter().max().unwrap_or(&0) as i64,
        max_out_degree: *out_deg.iter().max().unwrap_or(&0) as i64,
        depth,
        width,
    }
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let up = parent[parent[x as usize] as usize];
        parent[x as usize] = up;
        x = up;
    }
    x
}

/// Weakly connected components (an isolated node is one).
fn components(n: usize, src: &[i32], dst: &[i32]) -> i64 {
    let mut parent: Vec<u32> = (0..n as u32).collect();
    let mut count = n as i64;
    for (&s, &d) in src.iter().zip(dst) {
        let (a, b) = (find(&mut parent, s as u32), find(&mut parent, d as u32));
        if a != b {
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            parent[hi as usize] = lo;
            count -= 1;
        }
    }
    count
}

/// (depth, width) by frontiers: level 0 holds the nodes without incoming edges; (-1, -1) on a cycle.
fn levels(n: usize, src: &[i32], dst: &[i32], in_deg: &[u32], out_deg: &[u32]) -> (i64, i64) {
    let mut start = vec![0u32; n + 1];
    for i in 0..n {
        start[i + 1] = start[i] + out_deg[i];
    }
    let mut fill = start.clone();
    let mut targets = vec![0u32; src.len()];
    for (&s, &d) in src.iter().zip(dst) {
        targets[fill[s as usize] as usize] = d as u32;
        fill[s as usize] += 1;
    }
    let mut remaining = in_deg.to_vec();
    let mut frontier: Vec<u32> = (0..n as u32)
        .filter(|&i| remaining[i as usize] == 0)
        .collect();
    let mut next = Vec::new();
    let (mut seen, mut depth, mut width) = (0usize, 0i64, 0i64);
    while !frontier.is_empty() {
        seen += frontier.len();
        depth += 1;
        width = width.max(frontier.len() as i64);
        next.clear();
        for &u in &frontier {
            for &v in &targets[start[u as usize] as usize..start[u as usize + 1] as usize] {
                remaining[v as usize] -= 1;
                if remaining[v as usize] == 0 {
                    next.push(v);
                }
            }
        }
        std::mem::swap(&mut frontier, &mut next);
    }
    if seen < n {
        return (-1, -1);
    }
    (depth, width)
}
