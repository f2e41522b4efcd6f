// The wire contract (docs/api.md, uni-im's names): every method's params and data, and the realtime payloads.
// Field names are uni-im's snake_case on purpose: what you send and receive is what the server reads and writes.

export type Uid = string;
export type EpochMs = number;

export interface AvatarFile { extname?: string | null; name?: string | null; url?: string | null }
export interface PublicProfile { _id: Uid; nickname?: string | null; avatar_file?: AvatarFile | null }

export type MessageType =
  | "text" | "image" | "sound" | "video" | "file" | "location" | "code" | "rich-text"
  | "userinfo-card" | "history" | "system" | "revoke_msg" | (string & {});

export interface ImageBody { url: string; width?: number; height?: number; size?: number; name?: string }

export interface Message {
  _id: string;
  conversation_id: string;
  seq: number;
  client_msg_id?: string | null;
  from_uid: Uid;
  to_uid?: Uid | null;
  group_id?: string | null;
  appid: string;
  type: MessageType;
  body: unknown;
  about_msg_id?: string | null;
  call_uid?: string[] | null;
  is_read?: boolean;
  is_revoke?: boolean;
  edit_time?: EpochMs | null;
  create_time: EpochMs;
  client_create_time?: EpochMs | null;
  update_time?: EpochMs;
  nickname?: string | null;
  avatar_file?: AvatarFile | null;
}

export type JoinOption = "freeAccess" | "needPermission" | "disableApply";

/** A chat group as getGroupInfo, getMyGroups and updateGroupInfo answer it (`user_id` is the owner). */
export interface GroupInfo {
  _id: string;
  user_id: Uid;
  name: string;
  introduction: string;
  notification: string;
  avatar_file?: AvatarFile | null;
  join_option: JoinOption;
  mute_all_members: boolean;
  history_visible: boolean;
  dissolved: boolean;
  member_count: number;
  create_time: EpochMs;
  update_time: EpochMs;
}

export type GroupRole = "owner" | "admin" | "member";

export interface GroupMember {
  group_id: string; user_id: Uid; role: GroupRole; join_seq: number; mute_until?: EpochMs | null; create_time: EpochMs;
  user_info?: PublicProfile | null;
}

/** state: 0 pending, 100 accepted, -100 rejected (uni-im's values). */
export interface JoinGroupRequest { _id: string; group_id: string; user_id: Uid; message?: string | null; state: number; create_time: EpochMs }

/**
 * The body of a `type: "system"` message (`from_uid: "system"`), written by the server after a change. Group actions:
 * `join-group {user_id_list, new_member_list}`, `group-exit`/`group-expel {user_id_list}`, `group-dissolved {groupName}`,
 * `set-group-admin {user_id, addRole, delRole}`, `update-group-info-<field> {updateData}`,
 * `transfer-group-owner {old_owner_uid, new_owner_uid}`, `mute-group-member {user_id, mute_until}`, each with
 * `operator_uid`; a legacy backend's sendSystemMsg: `{action (default "notice"), ...its body}` (a string body is `text`).
 */
export interface SystemBody {
  action: string;
  operator_uid?: Uid;
  user_id_list?: Uid[];
  new_member_list?: { group_id: string; user_id: Uid; role: GroupRole }[];
  user_id?: Uid;
  groupName?: string;
  updateData?: Record<string, unknown>;
  old_owner_uid?: Uid;
  new_owner_uid?: Uid;
  mute_until?: EpochMs | null;
  addRole?: string[];
  delRole?: string[];
  text?: string;
  [key: string]: unknown;
}

export interface Conversation {
  id: string;
  type: 1 | 2;
  user_id: Uid;
  friend_uid?: Uid | null;
  group_id?: string | null;
  unread_count: number;
  last_msg_note: string;
  last_msg_create_time: EpochMs;
  update_time: EpochMs;
  create_time: EpochMs;
  last_seq: number;
  read_seq: number;
  last_msg?: Message | null;
  user_info?: PublicProfile | null;
  group_info?: GroupInfo | null;
  pinned?: boolean;
  mute?: boolean;
  hidden?: boolean;
  is_star?: boolean;
  /** A group the user has left (or was expelled from): its history stops at the leave. */
  leave?: boolean;
  /** Messages that mention the user (replies to them count), newest last; has_remind when not empty. */
  remind_msg_ids?: string[];
  has_remind?: boolean;
  /** Pass the last row's cursor to getConversationList to read the rows after it. */
  cursor?: string;
}

export interface NewToken { token: string; tokenExpired: EpochMs }

/** The success envelope (SPEC §2). */
export interface Envelope<T> { errCode: 0; errMsg: string; data: T; newToken?: NewToken }
/** The failure envelope: errCode is a uni-im string code or a number (1, 2, 1000, 2000, 4000, 10004, 40001, ...). */
export interface ErrorEnvelope { errCode: string | number; errMsg: string; errSubject?: string }

export interface Cursor { cursor?: string }
export interface Page<T> { items?: T[]; next_cursor?: string | null; [key: string]: unknown }

export interface ReadCursor { conversation_id: string; read_seq: number; unread_count: number }

/** What revokeMsg and editMsg answer: where the message is and its new update_time. */
export interface MessageChange { _id: string; conversation_id: string; seq: number; update_time: EpochMs }

export interface ConversationSettings {
  conversation_id: string; pinned: boolean; mute: boolean; hidden: boolean; is_star: boolean; unread_count: number; read_seq: number;
}

/** Every method: its params and the `data` it answers with. */
export interface Methods {
  // §3 identity
  loginWithJWT: { params: { signedData: string }; data: { uid: Uid } };
  getUserInfo: { params: { user_ids: Uid[] }; data: PublicProfile[] };
  getUserIdByExtUid: { params: { ext_uid: string }; data: { uid: Uid } };
  // §4 messages and conversations
  sendMsg: {
    params: {
      to_uid?: Uid; group_id?: string; appId: string; type: MessageType; body: unknown;
      client_msg_id?: string; about_msg_id?: string; client_create_time?: EpochMs; call_uid?: string[];
      chat_source?: { group_id?: string }; isRetries?: boolean;
    };
    data: { _id: string; conversation_id: string; seq: number; create_time: EpochMs };
  };
  getMsgList: {
    params:
      | { conversation_id: string; before_seq?: number; after_seq?: number; limit?: number }
      | { conversation_ids: string[]; minUpdateTime: EpochMs; limit?: number };
    data: Message[];
  };
  getConversationList: {
    params: {
      limit?: number; page?: number; maxUpdateTime?: EpochMs; conversation_id?: string; cursor?: string;
      type?: "unread" | "single" | "group" | "is_star" | "has_remind_msg"; distinguishPinned?: boolean;
    };
    data: Conversation[];
  };
  clearUnreadCount: { params: { conversation_id?: string; read_seq?: number }; data: ReadCursor[] };
  negotiate: { params: Record<string, never>; data: { url: string; expire_time: EpochMs } };
  // §9 groups (docs/api.md "Groups"); a group's conversation_id is "group_<group_id>"
  chooseUserIntoGroup: {
    params: {
      group_id?: string;
      groupInfo?: { name?: string; introduction?: string; avatar_file?: AvatarFile; join_option?: JoinOption };
      user_ids: Uid[]; admin_uids?: Uid[];
    };
    data: { group_id: string; added: Uid[] };
  };
  getGroupInfo: { params: { group_id: string }; data: GroupInfo };
  getGroupMembers: { params: { group_id: string; cursor?: Uid; limit?: number }; data: GroupMember[] };
  getMyGroups: { params: { cursor?: string; limit?: number }; data: GroupInfo[] };
  updateGroupInfo: {
    params: {
      group_id: string; name?: string; avatar_file?: AvatarFile; introduction?: string; notification?: string;
      join_option?: JoinOption; mute_all_members?: boolean; history_visible?: boolean;
    };
    data: GroupInfo;
  };
  applyJoinGroup: { params: { group_id: string; message?: string }; data: { is_pass: boolean; request_id?: string } };
  getJoinGroupRequests: { params: { group_id?: string }; data: JoinGroupRequest[] };
  handleJoinGroupRequest: { params: { request_id: string; accept: boolean }; data: { request_id: string; state: number } };
  quitGroup: { params: { group_id: string }; data: { group_id: string } };
  expelGroupMember: { params: { group_id: string; user_id: Uid; block?: boolean }; data: { group_id: string; user_id: Uid } };
  dissolveGroup: { params: { group_id: string }; data: { group_id: string } };
  transferGroupOwner: { params: { group_id: string; user_id: Uid }; data: { group_id: string; user_id: Uid } };
  setGroupAdmin: { params: { group_id: string; user_id: Uid; admin: boolean }; data: { group_id: string; user_id: Uid; role: GroupRole } };
  muteGroupMember: {
    params: { group_id: string; user_id: Uid; until: EpochMs | null };
    data: { group_id: string; user_id: Uid; mute_until: EpochMs | null };
  };
  addToGroupMenberBlackList: { params: { group_id: string; user_id: Uid }; data: { group_id: string; user_id: Uid; blacklisted: boolean } };
  removeFromGroupBlackList: { params: { group_id: string; user_id: Uid }; data: { group_id: string; user_id: Uid; blacklisted: boolean } };
  // §10 friends and blocks
  addFriendInvite: { params: { to_uid: Uid; message?: string }; data: unknown };
  getFriendInvites: { params: { box: "received" | "sent"; cursor?: string }; data: unknown };
  acceptFriendInvite: { params: { invite_id: string }; data: unknown };
  rejectFriendInvite: { params: { invite_id: string }; data: unknown };
  deleteFriend: { params: { friend_uid: Uid }; data: unknown };
  getFriendList: { params: Cursor; data: unknown };
  setFriendRemark: { params: { friend_uid: Uid; remark: string }; data: unknown };
  blockUser: { params: { user_id: Uid }; data: unknown };
  unblockUser: { params: { user_id: Uid }; data: unknown };
  getBlockList: { params: Cursor; data: unknown };
  // §11 message lifecycle (docs/api.md "Messages: types, replies, mentions, revoke, edit, search")
  revokeMsg: { params: { msg_id: string; conversation_id: string }; data: MessageChange };
  editMsg: { params: { msg_id: string; conversation_id: string; body: unknown }; data: MessageChange };
  /** 1 when the id was removed from the caller's row, 0 when it was not there. */
  removeRemindMsgId: { params: { conversation_id: string; msg_id: string }; data: number };
  getMsgReadInfo: { params: { conversation_id: string; seq: number }; data: { read_count: number; unread_count: number; readers: Uid[] } };
  searchMessages: {
    params: { keyword: string; conversation_id?: string; before?: EpochMs; limit?: number };
    data: { list: Message[]; next_before: EpochMs | null };
  };
  searchConversations: { params: { keyword: string; limit?: number }; data: Conversation[] };
  // §12 conversation settings
  setConversation: {
    params: { conversation_id: string; pinned?: boolean; mute?: boolean; hidden?: boolean; is_star?: boolean };
    data: ConversationSettings;
  };
  markConversationUnread: { params: { conversation_id: string }; data: ConversationSettings };
  getUnreadCount: { params: Record<string, never>; data: { unreadCount: number; unreadCountObj: Record<string, number> } };
  // §14 accounts
  logout: { params: Record<string, never>; data: unknown };
  logoutAll: { params: Record<string, never>; data: unknown };
  updateUserInfo: { params: { nickname?: string; avatar_file?: AvatarFile; gender?: 0 | 1 | 2 }; data: unknown };
  exportMyData: { params: Record<string, never>; data: unknown };
  deleteAccount: { params: Record<string, never>; data: unknown };
}

export type MethodName = keyof Methods;
export type Params<M extends MethodName> = Methods[M]["params"];
export type Data<M extends MethodName> = Methods[M]["data"];

/** The methods as functions: `client.api.getGroupInfo({ group_id })`. */
export type Api = { [M in MethodName]: (params: Params<M>) => Promise<Data<M>> };

/** Every method name, for tools that walk the contract (the OpenAPI test compares against the server's table). */
export const methodNames: readonly MethodName[] = [
  "loginWithJWT", "getUserInfo", "getUserIdByExtUid", "sendMsg", "getMsgList", "getConversationList", "clearUnreadCount",
  "negotiate", "chooseUserIntoGroup", "getGroupInfo", "getGroupMembers", "getMyGroups", "updateGroupInfo", "applyJoinGroup",
  "getJoinGroupRequests", "handleJoinGroupRequest", "quitGroup", "expelGroupMember", "dissolveGroup", "transferGroupOwner",
  "setGroupAdmin", "muteGroupMember", "addToGroupMenberBlackList", "removeFromGroupBlackList", "addFriendInvite",
  "getFriendInvites", "acceptFriendInvite", "rejectFriendInvite", "deleteFriend", "getFriendList", "setFriendRemark",
  "blockUser", "unblockUser", "getBlockList", "revokeMsg", "editMsg", "removeRemindMsgId", "getMsgReadInfo",
  "searchMessages", "searchConversations", "setConversation", "markConversationUnread", "getUnreadCount", "logout",
  "logoutAll", "updateUserInfo", "exportMyData", "deleteAccount",
];

// Realtime payloads: {"type":"im","event":...,"data":...} (SPEC §6).

/** A message too large to push (> 1 KB): the SDK fetches it with getMsgList and delivers the full message. */
export interface MessageHint {
  is_hint: true; _id: string; conversation_id: string; seq: number; from_uid: Uid; type: MessageType; preview: string; create_time: EpochMs;
}
export interface ReadEvent { conversation_id: string; user_id: Uid; read_seq: number }
/** A message was revoked (by its sender, a group's owner or admin, or an uni-im-admin): where it was, never its body. */
export interface RevokeEvent {
  _id: string; conversation_id: string; seq: number; from_uid: Uid; revoked_by: Uid; update_time: EpochMs; is_revoke: true;
}
/** Settings of one of the user's own conversation rows changed on another device (setConversation, markConversationUnread). */
export type ConversationEvent = ConversationSettings;
/**
 * Join requests and their outcome, to the users concerned: `join_request` to a group's owner and admins,
 * `join_request_handled` to the applicant. Everything else about groups arrives as `system` messages (SystemBody).
 */
export interface GroupEvent { action: "join_request" | "join_request_handled" | (string & {}); data: Record<string, unknown> }
export interface FriendEvent { action: string; [key: string]: unknown }

/** `is_mention` marks a msg (or edit) that mentions someone: it should get through a muted conversation to them. */
export interface PushPayload { type: "im"; event: string; data: unknown; is_mention?: boolean }

/** What `client.on(...)` delivers. `msg` is ordered and deduplicated per conversation; the rest pass through. */
export interface ClientEvents {
  msg: Message;
  read: ReadEvent;
  revoke: RevokeEvent;
  /** The message as now stored after editMsg (a large one is fetched first, as for msg). */
  edit: Message;
  conversation: ConversationEvent;
  group: GroupEvent;
  friend: FriendEvent;
  /** Any push, as received, before ordering: for events this SDK does not know yet. */
  push: PushPayload;
  token: NewToken;
  connected: { connectionId: string };
  disconnected: { reason?: string };
  /** The socket is back and every tracked conversation caught up with getMsgList. */
  synced: { conversations: number; filled: number };
  /** A gap that stayed open after the retries (a message later than expected); delivery moved on. */
  gap: { conversation_id: string; after_seq: number; next_seq: number };
  error: Error;
}
