use std::fs;
use std::sync::Arc;

use super::files::create_temp;
use super::upload::WRITEBACK_EVERY;
use super::*;
use crate::domain::{RevRegId, TailsHead};

fn id() -> StoredName {
    StoredName::Id(
        RevRegId::parse("4QxzWk3ajdnEA37NdNU5Kt:4:4QxzWk3ajdnEA37NdNU5Kt:3:CL:20:t:CL_ACCUM:1")
            .unwrap(),
    )
}

async fn stage(storage: &Arc<Storage>, parts: &[&[u8]]) -> Staged {
    let mut upload = storage.begin();
    for part in parts {
        upload.write(part.to_vec()).await.unwrap();
    }
    upload.finish().await.unwrap()
}

fn temp_count(storage: &Storage) -> usize {
    fs::read_dir(&storage.tmp).unwrap().count()
}

#[tokio::test]
async fn stage_hash_publish_locate() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(Storage::open(dir.path()).unwrap());
    let staged = stage(&storage, &[b"\x00", b"\x02"]).await;
    assert_eq!(staged.hash, TailsHash::of(&[0, 2]));
    assert_eq!(
        staged.head,
        TailsHead {
            first: [0, 2],
            size: 2
        }
    );
    storage.publish(staged, id()).await.unwrap();
    assert_eq!(temp_count(&storage), 0);
    assert!(storage.contains(&id()).await.unwrap());

    let again = stage(&storage, &[b"\x00\x02"]).await;
    assert!(matches!(
        storage.publish(again, id()).await,
        Err(PublishError::Exists)
    ));
    assert_eq!(temp_count(&storage), 0);

    // A fresh process (no cache) finds the recorded hash; a file without a record
    // (left by the original server) gets its hash computed.
    let fresh = Arc::new(Storage::open(dir.path()).unwrap());
    let (_, hash) = fresh.locate(&id()).await.unwrap().unwrap();
    assert_eq!(hash, TailsHash::of(&[0, 2]));
    fs::remove_file(dir.path().join(HASH_DIR).join(id().as_str())).unwrap();
    let fresh = Arc::new(Storage::open(dir.path()).unwrap());
    let (_, hash) = fresh.locate(&id()).await.unwrap().unwrap();
    assert_eq!(hash, TailsHash::of(&[0, 2]));
    assert_eq!(
        fresh.matching("CL_ACCUM".into()).await.unwrap(),
        [id().to_string()]
    );
    assert!(fresh.matching("nothing".into()).await.unwrap().is_empty());
}

#[tokio::test]
async fn large_uploads_are_batched_and_intact() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(Storage::open(dir.path()).unwrap());
    // Odd-sized chunks, several batches, several direct blocks and an unaligned tail.
    let size = 2 * WRITEBACK_EVERY as usize + 12_345;
    let data: Vec<u8> = (0..size).map(|i| (i * 31 % 253) as u8).collect();
    let parts: Vec<&[u8]> = data.chunks(7_777).collect();
    let staged = stage(&storage, &parts).await;
    assert_eq!(staged.hash, TailsHash::of(&data));
    assert_eq!(staged.head.size, size as u64);
    assert_eq!(staged.head.first, [data[0], data[1]]);
    storage.publish(staged, id()).await.unwrap();
    assert_eq!(fs::read(dir.path().join(id().as_str())).unwrap(), data);
    assert_eq!(temp_count(&storage), 0);
}

#[tokio::test]
async fn abandoned_upload_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(Storage::open(dir.path()).unwrap());
    let mut upload = storage.begin();
    upload.write(b"\x00\x02".to_vec()).await.unwrap();
    let writer_done = {
        let Upload { chunks, writer, .. } = upload;
        drop(chunks);
        writer.await.unwrap()
    };
    assert!(writer_done.is_err());
    assert_eq!(temp_count(&storage), 0);
}

#[tokio::test]
async fn only_unlocked_temp_files_are_stale() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let live = create_temp(&storage.tmp).unwrap();
    let dead = storage.tmp.join("upload-dead.part");
    fs::write(&dead, b"partial").unwrap();
    assert_eq!(storage.clean_stale_temps().unwrap(), 1);
    assert!(!dead.exists());
    assert!(live.path().exists());
}
