<?php
/**
 * Router for `php -S`: WordPress's pretty permalinks (/wp-json/...) without Apache's rewrite rules. Existing files
 * and folders are served as they are; everything else goes to index.php.
 *
 * @package MemberSync_Companion_Tests
 */

$path = (string) parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH );
if ( '/' !== $path && file_exists( $_SERVER['DOCUMENT_ROOT'] . $path ) ) {
	return false;
}
$_SERVER['SCRIPT_NAME']     = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $_SERVER['DOCUMENT_ROOT'] . '/index.php';
require $_SERVER['DOCUMENT_ROOT'] . '/index.php';
