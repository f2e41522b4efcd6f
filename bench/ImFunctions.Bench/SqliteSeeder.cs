using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Groups;
using ImFunctions.Core.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace ImFunctions.Bench;

/// <summary>
/// Fills the app's SQLite file fast: the store's own schema (created by SqliteImStore), the store's own document
/// shape (ImJson), but batched inserts in large transactions on one connection instead of one HTTP call per
/// message. A million messages take seconds, not hours. Writing while the app runs is fine: the file is in WAL mode.
/// </summary>
public sealed class SqliteSeeder : IDisposable
{
    const int Batch = 20_000;
    readonly SqliteConnection connection;
    static readonly string Text = "seeded history message, about as long as a typical chat line";

    SqliteSeeder(SqliteConnection connection) => this.connection = connection;

    public static async Task<SqliteSeeder> OpenAsync(string path)
    {
        await new SqliteImStore(new SqliteStoreOptions { Path = path }).InitializeAsync(CancellationToken.None);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using var pragma = connection.CreateCommand();
        // Only the seeding connection skips fsync: a crash here loses benchmark data, nothing else.
        pragma.CommandText = "PRAGMA synchronous = OFF; PRAGMA cache_size = -200000;";
        pragma.ExecuteNonQuery();
        return new SqliteSeeder(connection);
    }

    public static User NewUser(string openid) => new()
    {
        Id = Ids.New(), ExtUid = openid, Nickname = "seeded " + openid, TokenVersion = 1,
        RegisterDate = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), UpdateTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
    };

    /// <summary>Users and their external-uid bindings, so loginWithJWT with the same openid finds them.</summary>
    public void Users(IReadOnlyList<User> users)
    {
        foreach (var chunk in users.Chunk(Batch))
        {
            using var tx = connection.BeginTransaction();
            using var user = Prepare(tx, "INSERT INTO users (id, doc) VALUES ($id, $doc)", "$id", "$doc");
            using var ext = Prepare(tx, "INSERT INTO ext_uids (ext_uid, uid) VALUES ($ext, $uid)", "$ext", "$uid");
            foreach (var u in chunk)
            {
                Run(user, u.Id, JsonSerializer.Serialize(u, ImJson.Options));
                Run(ext, u.ExtUid, u.Id);
            }
            tx.Commit();
        }
    }

    /// <summary>
    /// <paramref name="count"/> messages between <paramref name="a"/> and each of <paramref name="peers"/> (alternating
    /// senders), seq 1..count, one minute apart ending now, plus both participants' conversation rows pointing at the
    /// last one. With several peers the conversations are written side by side, a message of each in turn, as a file
    /// written by live traffic holds them: one conversation's messages are stored among the others'.
    /// </summary>
    public void Conversations(User a, IReadOnlyList<User> peers, int count)
    {
        var conversationIds = peers.Select(b => ConversationIds.Single(a.Id, b.Id)).ToArray();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var last = new Message?[peers.Count];
        var perBatch = Math.Max(1, Batch / peers.Count);
        for (var first = 1; first <= count; first += perBatch)
        {
            using var tx = connection.BeginTransaction();
            using var insert = Prepare(tx, "INSERT INTO messages (conversation_id, seq, id, update_time, doc) VALUES ($c, $s, $id, $t, $doc)",
                "$c", "$s", "$id", "$t", "$doc");
            for (var seq = first; seq < first + perBatch && seq <= count; seq++)
                for (var k = 0; k < peers.Count; k++)
                {
                    var (from, to) = seq % 2 == 1 ? (a, peers[k]) : (peers[k], a);
                    var time = now - (count - seq) * 60_000L;
                    var message = last[k] = new Message
                    {
                        Id = Ids.New(), ConversationId = conversationIds[k], Seq = seq, FromUid = from.Id, ToUid = to.Id,
                        Appid = ImClient.AppId, Type = "text", Body = JsonSerializer.SerializeToElement(Text + " #" + seq),
                        CreateTime = time, UpdateTime = time, Nickname = from.Nickname,
                    };
                    Run(insert, conversationIds[k], (long)seq, message.Id, time, JsonSerializer.Serialize(message, ImJson.Options));
                }
            tx.Commit();
        }
        if (count == 0) return;
        Rows(peers.SelectMany((b, k) => new[] { Row(a, b, last[k]!, count), Row(b, a, last[k]!, count) }).ToList());
    }

    /// <summary>
    /// A user's conversation list: a 1:1 conversation with each of <paramref name="peers"/> and <paramref name="groups"/>
    /// groups the user is in, one unread message each. A group is what the app itself would hold: the group record at its
    /// last message (seq 1), the user's member record (read up to 0) and the user's group row (written when they joined,
    /// never by the group's messages). The rows are one second apart, newest first; the groups sit among the newest, one
    /// row in three while there are few (so a first page holds the same groups whatever the number of 1:1 rows), spread
    /// over the whole list when there are at most twice as many 1:1 rows as groups.
    /// </summary>
    /// <param name="unread">How many of the 1:1 rows are unread, spread evenly over the list; all when null.</param>
    public void ConversationList(User owner, IReadOnlyList<User> peers, int groups, int? unread = null)
    {
        var unreadEvery = unread is { } n ? Math.Max(1, peers.Count / Math.Max(1, n)) : 1;
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var total = peers.Count + groups;
        var span = Math.Min(total, 3 * groups);
        var rows = new List<ConversationRow>(total);
        var groupRecords = new List<Group>(groups);
        var members = new List<MemberRecord>(groups);
        var nextPeer = 0;
        for (var i = 0; i < total; i++)
        {
            var time = now - i * 1000L;
            // Exactly `groups` of the first `span` positions, evenly spread: 2, 5, 8, ... when span is three times groups.
            var isGroup = i < span && (long)(i + 1) * groups / span > (long)i * groups / span;
            if (!isGroup)
            {
                var readSeq = nextPeer % unreadEvery == 0 ? 0 : 1;
                var peer = peers[nextPeer++];
                rows.Add(Row(owner, peer, new Message
                {
                    Id = Ids.New(), ConversationId = ConversationIds.Single(owner.Id, peer.Id), Seq = 1, FromUid = peer.Id, ToUid = owner.Id,
                    Appid = ImClient.AppId, Type = "text", Body = JsonSerializer.SerializeToElement(Text), CreateTime = time, UpdateTime = time,
                    Nickname = peer.Nickname,
                }, readSeq));
                continue;
            }
            var groupId = Ids.New();
            var sender = peers.Count > 0 ? peers[groupRecords.Count % peers.Count] : owner;
            var message = new Message
            {
                Id = Ids.New(), ConversationId = GroupIds.Conversation(groupId), Seq = 1, FromUid = sender.Id, GroupId = groupId,
                Appid = ImClient.AppId, Type = "text", Body = JsonSerializer.SerializeToElement(Text), CreateTime = time, UpdateTime = time,
                Nickname = sender.Nickname,
            };
            groupRecords.Add(new Group
            {
                Id = groupId, UserId = owner.Id, Name = "seeded group " + groupRecords.Count, MemberCount = 1, CreateTime = time, UpdateTime = time,
                LastSeq = 1, LastMsg = message, LastMsgNote = Text[..30], LastMsgCreateTime = time,
            });
            members.Add(new MemberRecord { GroupId = groupId, UserId = owner.Id, Role = GroupRole.Owner, CreateTime = time, UpdateTime = time });
            rows.Add(new ConversationRow
            {
                Id = GroupIds.Conversation(groupId), Type = ConversationTypes.Group, UserId = owner.Id, GroupId = groupId,
                CreateTime = time, UpdateTime = time,
            });
        }
        foreach (var chunk in groupRecords.Chunk(Batch))
        {
            using var tx = connection.BeginTransaction();
            using var insert = Prepare(tx, "INSERT INTO groups (id, version, doc) VALUES ($id, 1, $doc)", "$id", "$doc");
            foreach (var group in chunk) Run(insert, group.Id, JsonSerializer.Serialize(group, ImJson.Options));
            tx.Commit();
        }
        foreach (var chunk in members.Chunk(Batch))
        {
            using var tx = connection.BeginTransaction();
            using var insert = Prepare(tx, """
                INSERT INTO group_members (group_id, user_id, version, is_current, read_seq, doc) VALUES ($g, $u, 1, 1, $r, $doc)
                """, "$g", "$u", "$r", "$doc");
            foreach (var member in chunk) Run(insert, member.GroupId, member.UserId, member.ReadSeq, JsonSerializer.Serialize(member, ImJson.Options));
            tx.Commit();
        }
        Rows(rows);
    }

    static ConversationRow Row(User owner, User peer, Message last, long readSeq) => new()
    {
        Id = last.ConversationId, Type = ConversationTypes.Single, UserId = owner.Id, FriendUid = peer.Id, LastSeq = last.Seq,
        ReadSeq = readSeq, LastMsg = last, LastMsgNote = Text[..30], LastMsgCreateTime = last.CreateTime, UpdateTime = last.CreateTime,
        CreateTime = last.CreateTime,
    };

    void Rows(IReadOnlyList<ConversationRow> rows)
    {
        foreach (var chunk in rows.Chunk(Batch))
        {
            using var tx = connection.BeginTransaction();
            using var insert = Prepare(tx, """
                INSERT INTO conversations (user_id, id, update_time, version, doc, pinned, hidden, unread) VALUES ($u, $id, $t, 1, $doc, $p, $h, $r)
                ON CONFLICT (user_id, id) DO UPDATE SET update_time = excluded.update_time, version = version + 1, doc = excluded.doc,
                    pinned = excluded.pinned, hidden = excluded.hidden, unread = excluded.unread
                """, "$u", "$id", "$t", "$doc", "$p", "$h", "$r");
            foreach (var row in chunk)
                Run(insert, row.UserId, row.Id, row.UpdateTime, JsonSerializer.Serialize(row, ImJson.Options), row.Pinned, row.Hidden, row.UnreadCount > 0);
            tx.Commit();
        }
    }

    /// <summary>Moves the WAL into the main file, so reads afterwards see the steady state, not a huge log.</summary>
    public void Checkpoint()
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
        command.ExecuteNonQuery();
    }

    public long MessageCount()
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM messages";
        return (long)command.ExecuteScalar()!;
    }

    SqliteCommand Prepare(SqliteTransaction tx, string sql, params string[] names)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        foreach (var name in names) command.Parameters.Add(new SqliteParameter { ParameterName = name });
        command.Prepare();
        return command;
    }

    static void Run(SqliteCommand command, params object[] values)
    {
        for (var i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i];
        command.ExecuteNonQuery();
    }

    public void Dispose() => connection.Dispose();
}
