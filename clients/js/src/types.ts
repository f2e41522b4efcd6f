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

export interface GroupInfo {
  _id: string;
  name?: string;
  introduction?: string;
  notification?: unknown;
  avatar_file?: AvatarFile | null;
  join_option?: "freeAccess" | "needPermission" | "disableApply" | (string & {});
  mute_all_members?: boolean;
  history_visible?: boolean;
  user_id?: Uid;
  member_count?: number;
  create_time?: EpochMs;
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
  leave?: boolean;
  remind_msg_ids?: string[];
}

export interface NewToken { token: string; tokenExpired: EpochMs }

/** The success envelope (SPEC §2). */
export interface Envelope<T> { errCode: 0; errMsg: string; data: T; newToken?: NewToken }
/** The failure envelope: errCode is a uni-im string code or a number (1, 2, 1000, 2000, 4000, 10004, 40001, ...). */
export interface ErrorEnvelope { errCode: string | number; errMsg: string; errSubject?: string }

export interface Cursor { cursor?: string }
export interface Page<T> { items?: T[]; next_cursor?: string | null; [key: string]: unknown }

export interface ReadCursor { conversation_id: string; read_seq: number; unread_count: number }

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
      limit?: number; page?: number; maxUpdateTime?: EpochMs; conversation_id?: string;
      type?: "unread" | "single" | "group" | "is_star" | "has_remind_msg"; distinguishPinned?: boolean;
    };
    data: Conversation[];
  };
  clearUnreadCount: { params: { conversation_id?: string; read_seq?: number }; data: ReadCursor[] };
  negotiate: { params: Record<string, never>; data: { url: string; expire_time: EpochMs } };
  // §9 groups
  chooseUserIntoGroup: {
    params: {
      group_id?: string;
      groupInfo?: { name?: string; introduction?: string; avatar_file?: AvatarFile; join_option?: GroupInfo["join_option"] };
      user_ids: Uid[]; admin_uids?: Uid[];
    };
    data: { group_id: string; [key: string]: unknown };
  };
  getGroupInfo: { params: { group_id: string }; data: GroupInfo };
  getGroupMembers: { params: { group_id: string; cursor?: string; limit?: number }; data: unknown };
  getMyGroups: { params: Cursor; data: unknown };
  updateGroupInfo: {
    params: {
      group_id: string; name?: string; avatar_file?: AvatarFile; introduction?: string; notification?: string;
      join_option?: GroupInfo["join_option"]; mute_all_members?: boolean; history_visible?: boolean;
    };
    data: unknown;
  };
  applyJoinGroup: { params: { group_id: string; message?: string }; data: { is_pass: boolean } };
  getJoinGroupRequests: { params: { group_id?: string }; data: unknown };
  handleJoinGroupRequest: { params: { request_id: string; accept: boolean }; data: unknown };
  quitGroup: { params: { group_id: string }; data: unknown };
  expelGroupMember: { params: { group_id: string; user_id: Uid; block?: boolean }; data: unknown };
  dissolveGroup: { params: { group_id: string }; data: unknown };
  transferGroupOwner: { params: { group_id: string; user_id: Uid }; data: unknown };
  setGroupAdmin: { params: { group_id: string; user_id: Uid; admin: boolean }; data: unknown };
  muteGroupMember: { params: { group_id: string; user_id: Uid; until: EpochMs | null }; data: unknown };
  addToGroupMenberBlackList: { params: { group_id: string; user_id: Uid }; data: unknown };
  removeFromGroupBlackList: { params: { group_id: string; user_id: Uid }; data: unknown };
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
  // §11 message lifecycle
  revokeMsg: { params: { msg_id: string }; data: unknown };
  editMsg: { params: { msg_id: string; body: unknown }; data: unknown };
  removeRemindMsgId: { params: { conversation_id: string; msg_id: string }; data: unknown };
  getMsgReadInfo: { params: { conversation_id: string; seq: number }; data: { read_count: number; unread_count: number; readers?: Uid[] } };
  searchMessages: { params: { keyword: string; conversation_id?: string; before?: EpochMs; limit?: number }; data: Message[] };
  searchConversations: { params: { keyword: string }; data: Conversation[] };
  // §12 conversation settings
  setConversation: { params: { conversation_id: string; pinned?: boolean; mute?: boolean; hidden?: boolean; is_star?: boolean }; data: unknown };
  markConversationUnread: { params: { conversation_id: string }; data: unknown };
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
export interface RevokeEvent { conversation_id: string; msg_id?: string; _id?: string; seq?: number; [key: string]: unknown }
export interface EditEvent { conversation_id: string; msg_id?: string; _id?: string; body?: unknown; edit_time?: EpochMs; [key: string]: unknown }
export interface ConversationEvent { conversation_id?: string; id?: string; [key: string]: unknown }
export interface GroupEvent { group_id: string; action?: string; [key: string]: unknown }
export interface FriendEvent { action?: string; [key: string]: unknown }

export interface PushPayload { type: "im"; event: string; data: unknown }

/** What `client.on(...)` delivers. `msg` is ordered and deduplicated per conversation; the rest pass through. */
export interface ClientEvents {
  msg: Message;
  read: ReadEvent;
  revoke: RevokeEvent;
  edit: EditEvent;
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
