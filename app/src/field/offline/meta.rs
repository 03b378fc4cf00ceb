//! The session, the device and user id of each username that logged in, the pull cursor,
//! the device's seq counter and the hybrid logical clock (the `meta` store).

use super::*;

impl OfflineDb {
    pub async fn session(&self) -> Result<Option<Session>> {
        self.get(META, &Meta::Session.key()).await
    }

    /// The session, and its username's user id, which outlives it: a backup
    /// made from the login page after a logout finds that user's photos.
    pub async fn set_session(&self, session: &Session) -> Result<()> {
        let tx = self.tx(&[META], TransactionMode::ReadWrite).await?;
        let store = tx.store(META)?;
        store
            .put(&encode(session)?, Some(&key(&Meta::Session.key())))
            .await?;
        let user = Meta::User(&session.user.username).key();
        store
            .put(&encode(&session.user.id)?, Some(&key(&user)))
            .await?;
        super::landed(tx).await?;
        Ok(())
    }

    /// The user id of `username`, or of the session when it is theirs (a
    /// session stored before the id was kept apart).
    pub async fn user_for(&self, username: &str) -> Result<Option<String>> {
        if let Some(id) = self.get(META, &Meta::User(username).key()).await? {
            return Ok(Some(id));
        }
        Ok(self
            .session()
            .await?
            .filter(|s| s.user.username == username)
            .map(|s| s.user.id))
    }

    /// Forgets who is logged in; queued data and the user's device stay.
    pub async fn clear_session(&self) -> Result<()> {
        let tx = self.tx(&[META], TransactionMode::ReadWrite).await?;
        tx.store(META)?.delete(key(&Meta::Session.key())).await?;
        super::landed(tx).await?;
        Ok(())
    }

    pub async fn device_for(&self, username: &str) -> Result<Option<String>> {
        self.get(META, &Meta::Device(username).key()).await
    }

    pub async fn set_device_for(&self, username: &str, device_id: &str) -> Result<()> {
        self.put(META, &Meta::Device(username).key(), &device_id.to_string())
            .await
    }

    pub async fn cursor(&self, user_id: &str) -> Result<i64> {
        Ok(self
            .get(META, &Meta::Cursor(user_id).key())
            .await?
            .unwrap_or(0))
    }

    pub async fn last_seq(&self, device_id: &str) -> Result<i64> {
        Ok(self
            .get(META, &Meta::Seq(device_id).key())
            .await?
            .unwrap_or(0))
    }

    pub async fn hlc(&self) -> Result<Hlc> {
        Ok(self.get(META, &Meta::Hlc.key()).await?.unwrap_or_default())
    }

    /// Takes in the server's clock (every response carries it), so the phone's
    /// next stamps order after everything it has seen, even with a slow clock.
    pub async fn merge_clock(&self, remote: Hlc, now_ms: i64) -> Result<Hlc> {
        let tx = self.tx(&[META], TransactionMode::ReadWrite).await?;
        let store = tx.store(META)?;
        let mut clock = super::stored_clock(&store).await?;
        clock.merge(remote, now_ms);
        store
            .put(&encode(&clock)?, Some(&key(&Meta::Hlc.key())))
            .await?;
        super::landed(tx).await?;
        Ok(clock)
    }
}
