<?php
/**
 * A stand-in for MemberSync's webhook endpoint, run by `php -S` with RECEIVER_DIR set: records each request
 * (path, headers, raw body) as a line of RECEIVER_DIR/requests.jsonl and answers the HTTP status written in
 * RECEIVER_DIR/status (200 when there is none).
 *
 * @package MemberSync_Companion_Tests
 */

$dir    = getenv( 'RECEIVER_DIR' );
$status = is_file( "$dir/status" ) ? (int) trim( file_get_contents( "$dir/status" ) ) : 200;
$record = array(
	'path'    => $_SERVER['REQUEST_URI'],
	'headers' => getallheaders(),
	'body'    => file_get_contents( 'php://input' ),
	'status'  => $status,
);
file_put_contents( "$dir/requests.jsonl", json_encode( $record ) . "\n", FILE_APPEND | LOCK_EX );
http_response_code( $status );
header( 'Content-Type: application/json' );
echo json_encode( array( 'ok' => $status < 300 ) );
