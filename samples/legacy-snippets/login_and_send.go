// A legacy backend in Go (standard library only; `go run login_and_send.go`): sign a login JWT, trade it for an
// ImFunctions token (loginWithJWT), then send the user a system message with a signed server-to-server call.
// Settings from the environment: IMF_URL, IMF_JWT_SECRET, IMF_OPENID, IMF_KEY_ID, IMF_KEY.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

var url = strings.TrimRight(os.Getenv("IMF_URL"), "/")

func hmacSHA256(key, data string) []byte {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(data))
	return mac.Sum(nil)
}

func loginJWT(secret, openid string) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	// uni-im signs exp in milliseconds (Date.now() + 60000).
	payload, _ := json.Marshal(map[string]any{"exp": time.Now().UnixMilli() + 60000,
		"userInfo": map[string]any{"openid": openid, "nickname": "Go User"}})
	unsigned := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	return unsigned + "." + enc.EncodeToString(hmacSHA256(secret, unsigned))
}

func post(method string, body []byte, headers map[string]string) map[string]any {
	request, _ := http.NewRequest("POST", url+"/api/"+method, bytes.NewReader(body))
	request.Header.Set("Content-Type", "application/json")
	for name, value := range headers {
		request.Header.Set(name, value)
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		panic(err)
	}
	defer response.Body.Close()
	raw, _ := io.ReadAll(response.Body)
	if response.StatusCode != 200 {
		fmt.Fprintf(os.Stderr, "%s: %d %s\n", method, response.StatusCode, raw)
		os.Exit(1)
	}
	var reply map[string]any
	json.Unmarshal(raw, &reply)
	return reply
}

func signedPost(method string, params any, actAs string) map[string]any {
	body, _ := json.Marshal(params) // sign exactly the bytes you send
	timestamp := strconv.FormatInt(time.Now().UnixMilli(), 10)
	nonceBytes := make([]byte, 16)
	rand.Read(nonceBytes)
	nonce := hex.EncodeToString(nonceBytes)
	bodyHash := sha256.Sum256(body)
	canonical := strings.Join([]string{"POST", "/api/" + method, timestamp, nonce, actAs, hex.EncodeToString(bodyHash[:])}, "\n")
	return post(method, body, map[string]string{
		"X-ImF-Key-Id": os.Getenv("IMF_KEY_ID"), "X-ImF-Timestamp": timestamp, "X-ImF-Nonce": nonce,
		"X-ImF-Act-As": actAs, "X-ImF-Signature": hex.EncodeToString(hmacSHA256(os.Getenv("IMF_KEY"), canonical)),
	})
}

func main() {
	login, _ := json.Marshal(map[string]string{"signedData": loginJWT(os.Getenv("IMF_JWT_SECRET"), os.Getenv("IMF_OPENID"))})
	uid := post("loginWithJWT", login, nil)["data"].(map[string]any)["uid"].(string)
	sent := signedPost("sendSystemMsg", map[string]string{"to_uid": uid, "body": "hello from go", "action": "notice"}, "")
	out, _ := json.Marshal(map[string]any{"uid": uid, "sent": sent["data"]})
	fmt.Println(string(out))
}
